"""API tokens: what a token is, for the services that make, store and check them.

Only the SHA-256 of a token is stored (in ingest's `tokens` collection), so a copy of
the database or a backup gives nobody access; the secret is shown once, when made.
A request's bearer token `T` is valid when `tokens` holds
`{"hash": hash_token(T), "revoked_at": null}` whose `expires_at` is null or in the
future; its `role` and `name` say who is asking.

Made by `pitwall token create` (writes through ingest's module directly: the first
admin token must exist before any service runs) or by an admin in the web page
(query_api makes the secret and publishes its hash in a `token.command`, ingest
stores it); checked by query_api.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, get_args

from pitwall.common.contracts.documents import TokenDoc

Role = Literal["viewer", "uploader", "editor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
PREFIX = "pw_"


class Permission(StrEnum):
    """What a request may do; query_api's guards ask for one per route."""

    read = "read"
    export = "export"
    upload = "upload"
    edit = "edit"
    admin = "admin"


# What each role may do: the page shows it, query_api enforces it, ingest stores the role.
ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "viewer": frozenset({Permission.read, Permission.export}),
    "uploader": frozenset({Permission.read, Permission.export, Permission.upload}),
    "editor": frozenset({Permission.read, Permission.export, Permission.edit}),
    "admin": frozenset(Permission),
}
assert tuple(ROLE_PERMISSIONS) == ROLES, "every role has its permissions"

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def hash_token(token: str) -> str:
    """The stored form of a token (surrogatepass: any text a client sends hashes)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return secrets.token_hex(4)


def parse_duration(text: str) -> timedelta:
    """`90m`, `12h`, `30d`, `2w` -> a timedelta; anything else is a ValueError saying so."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"expected a duration like 90m, 12h, 30d or 2w, not {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)])


def aware(value: Any) -> datetime | None:
    """A stored instant as an aware datetime (a client without tz_aware reads naive UTC);
    None for anything that is not a datetime."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def expiry(now: datetime, expires_in: timedelta | None) -> datetime | None:
    # Whole seconds: MongoDB keeps milliseconds, the listings show seconds.
    return (now + expires_in).replace(microsecond=0) if expires_in is not None else None


def token_document(
    token_id: str, token_hash: str, role: str, name: str | None, *,
    created_at: datetime | None = None, expires_at: datetime | None = None, created_by: str | None = None,
) -> TokenDoc:
    """The `tokens` document of a new token (never the secret)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return {
        "_id": token_id,
        "hash": token_hash,
        "name": name or f"{role}-{token_id}",
        "role": role,
        "created_at": created_at or datetime.now(UTC),
        "created_by": created_by,
        "revoked_at": None,
        "expires_at": expires_at,
        "last_used_at": None,
    }
