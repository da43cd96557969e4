"""API tokens: created, listed and revoked here; checked by query_api (read-only).

Only the SHA-256 of a token is stored, so a copy of the database (or a backup) gives
nobody access. The token itself is shown once, when it is created.

Contract with query_api (`pitwall.query_api.auth`): a request's bearer token `T` is
valid when the `tokens` collection holds `{"hash": sha256_hex(T), "revoked_at": null}`
and its `expires_at` is null (never) or in the future; its `role` and `name` then say
who is asking. Tokens made before expiry existed have no `expires_at`: they never expire.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

Role = Literal["viewer", "uploader", "editor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
PREFIX = "pw_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> TokenInfo:
        return cls(
            doc["_id"], doc.get("name") or "", doc["role"], doc["created_at"], doc.get("revoked_at"),
            _aware(doc.get("expires_at")),
        )

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC))


def _aware(t: datetime | None) -> datetime | None:
    # A client without tz_aware gives naive datetimes; they are UTC.
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """`90m`, `12h`, `30d`, `2w` -> a timedelta; anything else is a ValueError saying so."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"expected a duration like 90m, 12h, 30d or 2w, not {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)])


async def _ensure_index(tokens: AsyncCollection[dict[str, Any]]) -> None:
    # The CLI may run before ingest ever started: the unique index must exist anyway.
    await tokens.create_index([("hash", ASCENDING)], name="hash", unique=True)


async def create(
    tokens: AsyncCollection[dict[str, Any]], role: str, name: str | None = None, *, expires_in: timedelta | None = None,
) -> tuple[TokenInfo, str]:
    """A new token with `role` (expiring `expires_in` from now, or never); returns its
    record and the secret (shown only now)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValueError("a token must expire in the future")
    await _ensure_index(tokens)
    secret = PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(4)
    now = datetime.now(UTC)
    doc = {
        "_id": token_id,
        "hash": hash_token(secret),
        "name": name or f"{role}-{token_id}",
        "role": role,
        "created_at": now,
        "revoked_at": None,
        # Whole seconds: MongoDB keeps milliseconds, the CLI shows seconds.
        "expires_at": (now + expires_in).replace(microsecond=0) if expires_in is not None else None,
    }
    await tokens.insert_one(doc)
    return TokenInfo.from_doc(doc), secret


async def list_tokens(tokens: AsyncCollection[dict[str, Any]], *, include_revoked: bool = True) -> list[TokenInfo]:
    query: dict[str, Any] = {} if include_revoked else {"revoked_at": None}
    return [TokenInfo.from_doc(d) async for d in tokens.find(query, {"hash": 0}).sort("created_at", ASCENDING)]


async def revoke(tokens: AsyncCollection[dict[str, Any]], token_id: str) -> bool:
    """Revoke by id; False when no active token has that id. The record is kept (audit)."""
    result = await tokens.update_one(
        {"_id": token_id, "revoked_at": None}, {"$set": {"revoked_at": datetime.now(UTC)}}
    )
    return result.modified_count == 1


async def lookup(tokens: AsyncCollection[dict[str, Any]], secret: str) -> TokenInfo | None:
    """The active (not revoked, not expired) token with this secret, or None."""
    doc = await tokens.find_one({"hash": hash_token(secret), "revoked_at": None}, {"hash": 0})
    info = TokenInfo.from_doc(doc) if doc else None
    return None if info is None or info.expired() else info


def _read_secret(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Owner-only permissions before the secret goes in.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(secret + "\n")


async def ensure_admin_token(tokens: AsyncCollection[dict[str, Any]], path: Path) -> tuple[str, bool]:
    """The admin token kept in `path`, creating (and writing) one when there is no valid one.

    Returns (secret, created). `make up` calls this on every start: the first start
    prints a new token, later starts reuse it as long as nobody revoked it.
    """
    return await ensure_token(tokens, path, "admin", "admin (make up)")


async def ensure_token(tokens: AsyncCollection[dict[str, Any]], path: Path, role: str, name: str) -> tuple[str, bool]:
    """A token of `role` kept in `path` (made when missing or revoked): (secret, created)."""
    secret = _read_secret(path)
    found = await lookup(tokens, secret) if secret else None
    if found is not None and found.role == role:
        return secret, False
    _info, secret = await create(tokens, role, name)
    _write_secret(path, secret)
    return secret, True
