"""API tokens in the `tokens` collection: created, listed, revoked, looked up, kept in a file.

What a token is (hash, roles, the document) is `pitwall.common.apitokens`. Here because two
sides write the collection: `pitwall token` and the dev stack (the first admin token must
exist before any service runs) and ingest (the web page's token commands, as events);
query_api checks tokens read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from pitwall.common.apitokens import (
    aware,
    expiry,
    hash_token,
    new_secret,
    new_token_id,
    token_document,
)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    created_by: str | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> TokenInfo:
        return cls(
            doc["_id"], doc.get("name") or "", doc["role"], aware(doc["created_at"]) or doc["created_at"],
            aware(doc.get("revoked_at")), aware(doc.get("expires_at")), aware(doc.get("last_used_at")),
            doc.get("created_by"),
        )

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC))


async def ensure_index(tokens: AsyncCollection[dict[str, Any]]) -> None:
    # The CLI may run before ingest ever started: the unique index must exist anyway.
    await tokens.create_index([("hash", ASCENDING)], name="hash", unique=True)


async def create(
    tokens: AsyncCollection[dict[str, Any]], role: str, name: str | None = None, *, expires_in: timedelta | None = None,
) -> tuple[TokenInfo, str]:
    """A new token with `role` (expiring `expires_in` from now, or never); returns its
    record and the secret (shown only now)."""
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValueError("a token must expire in the future")
    secret = new_secret()
    now = datetime.now(UTC)
    doc = token_document(new_token_id(), hash_token(secret), role, name, created_at=now,
                         expires_at=expiry(now, expires_in), created_by="pitwall token create")
    await ensure_index(tokens)
    await tokens.insert_one(dict(doc))
    return TokenInfo.from_doc(doc), secret


async def list_tokens(tokens: AsyncCollection[dict[str, Any]], *, include_revoked: bool = True) -> list[TokenInfo]:
    query: dict[str, Any] = {} if include_revoked else {"revoked_at": None}
    return [TokenInfo.from_doc(d) async for d in tokens.find(query, {"hash": 0}).sort("created_at", ASCENDING)]


async def revoke(tokens: AsyncCollection[dict[str, Any]], token_id: str, at: datetime | None = None) -> bool:
    """Revoke by id; False when no active token has that id. The record is kept (audit)."""
    result = await tokens.update_one(
        {"_id": token_id, "revoked_at": None}, {"$set": {"revoked_at": at or datetime.now(UTC)}}
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
