"""API tokens for admins: the list (never a hash), a new token (its secret made here and
shown once, its hash sent to ingest) and a revocation, both as `token.command` events:
the `tokens` collection is ingest's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from pitwall.common.apitokens import (
    aware,
    expiry,
    hash_token,
    new_secret,
    new_token_id,
    parse_duration,
)
from pitwall.common.contracts.documents import TokenDoc
from pitwall.common.events import TokenCommand
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Principal
from pitwall.query_api.errors import invalid, not_found, rule
from pitwall.query_api.models import TokenCreate, TokenCreated, TokenList, TokenRevoked, TokenView
from pitwall.query_api.publishing import publish
from pitwall.query_api.resources import Resources

MAX_TOKENS = 1000


def view(doc: TokenDoc, now: datetime) -> TokenView:
    expires, revoked = aware(doc.get("expires_at")), aware(doc.get("revoked_at"))
    state = "revoked" if revoked else "expired" if expires is not None and expires <= now else "active"
    return TokenView(
        id=doc["_id"], name=doc.get("name") or doc["_id"], role=doc["role"],
        created_at=aware(doc["created_at"]) or now, created_by=doc.get("created_by"),
        last_used_at=aware(doc.get("last_used_at")), expires_at=expires, revoked_at=revoked,
        state=state,
    )


async def listing(res: Resources) -> TokenList:
    """Every token, newest first (records without a role or creation time are skipped)."""
    now = datetime.now(UTC)
    found = readmodel.tokens(res).find({}, {"hash": 0}).sort("created_at", -1).limit(MAX_TOKENS)
    docs = cast("list[TokenDoc]", await found.to_list())
    return TokenList(items=[view(d, now) for d in docs if d.get("role") and d.get("created_at")])


async def create(res: Resources, body: TokenCreate, who: Principal) -> TokenCreated:
    try:
        expires_in = parse_duration(body.expires_in) if body.expires_in else None
        expires_at = expiry(datetime.now(UTC), expires_in)
    except ValueError as exc:
        raise invalid("expires_in", str(exc), location="body", value=body.expires_in) from None
    except OverflowError:
        # Fits the documented pattern, but ends after the year 9999.
        raise rule("expires_in", "too long: a token can expire in thousands of years at most", location="body",
                   value=body.expires_in) from None
    secret, token_id = new_secret(), new_token_id()
    cmd = TokenCommand(action="create", token_id=token_id, hash=hash_token(secret), role=body.role,
                       token_name=body.name.strip(), expires_at=expires_at, actor=who.name)
    await publish(res, cmd)
    return TokenCreated(id=token_id, name=body.name.strip(), role=body.role, expires_at=expires_at,
                        secret=secret, command_id=cmd.event_id)


async def revoke(res: Resources, token_id: str, who: Principal) -> TokenRevoked:
    """404 unless the token exists and is not revoked yet."""
    found = await readmodel.tokens(res).find_one({"_id": token_id, "revoked_at": None}, {"_id": 1})
    if found is None:
        raise not_found(f"no active token with id {token_id!r}")
    cmd = TokenCommand(action="revoke", token_id=token_id, actor=who.name)
    await publish(res, cmd)
    return TokenRevoked(id=token_id, command_id=cmd.event_id)
