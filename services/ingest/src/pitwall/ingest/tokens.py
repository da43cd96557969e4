"""API tokens: created, listed and revoked here; checked by query_api (read-only).

Only the SHA-256 of a token is stored, so a copy of the database (or a backup) gives
nobody access. The token itself is shown once, when it is created.

Contract with query_api (`pitwall.query_api.auth`): a request's bearer token `T` is
valid when the `tokens` collection holds `{"hash": sha256_hex(T), "revoked_at": null}`;
its `role` and `name` then say who is asking.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
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

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> TokenInfo:
        return cls(doc["_id"], doc.get("name") or "", doc["role"], doc["created_at"], doc.get("revoked_at"))


async def _ensure_index(tokens: AsyncCollection[dict[str, Any]]) -> None:
    # The CLI may run before ingest ever started: the unique index must exist anyway.
    await tokens.create_index([("hash", ASCENDING)], name="hash", unique=True)


async def create(tokens: AsyncCollection[dict[str, Any]], role: str, name: str | None = None) -> tuple[TokenInfo, str]:
    """A new token with `role`; returns its record and the secret (shown only now)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    await _ensure_index(tokens)
    secret = PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(4)
    doc = {
        "_id": token_id,
        "hash": hash_token(secret),
        "name": name or f"{role}-{token_id}",
        "role": role,
        "created_at": datetime.now(UTC),
        "revoked_at": None,
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
    """The active token with this secret, or None."""
    doc = await tokens.find_one({"hash": hash_token(secret), "revoked_at": None}, {"hash": 0})
    return TokenInfo.from_doc(doc) if doc else None


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
