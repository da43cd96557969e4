"""API tokens for admins: list, make (the secret is shown once), revoke.

The `tokens` collection is ingest's: a new token's hash and a revocation travel as
`token.command` events, so the answer is 202 and the token works within moments.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from pitwall.common.apitokens import (
    aware,
    expiry,
    hash_token,
    new_secret,
    new_token_id,
    parse_duration,
)
from pitwall.common.events import TokenCommand
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Admin
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, Error, invalid, not_found
from pitwall.query_api.models import TokenCreate, TokenCreated, TokenList, TokenRevoked, TokenView
from pitwall.query_api.publishing import publish

router = APIRouter(prefix="/api/v1", tags=["tokens"], responses=AUTH)
Res = Annotated[Resources, Depends(resources)]
MAX_TOKENS = 1000


def view(doc: dict[str, Any], now: datetime) -> TokenView:
    expires, revoked = aware(doc.get("expires_at")), aware(doc.get("revoked_at"))
    state = "revoked" if revoked else "expired" if expires is not None and expires <= now else "active"
    return TokenView(
        id=doc["_id"], name=doc.get("name") or doc["_id"], role=doc["role"], created_at=aware(doc["created_at"]) or now,
        created_by=doc.get("created_by"), last_used_at=aware(doc.get("last_used_at")), expires_at=expires,
        revoked_at=revoked, state=state,
    )


@router.get("/tokens", response_model=TokenList, summary="API tokens (admin)")
async def list_tokens(res: Res, who: Admin) -> TokenList:
    """Every token, newest first: active, expired and revoked (kept for the record)."""
    now = datetime.now(UTC)
    docs = await readmodel.tokens(res).find({}, {"hash": 0}).sort("created_at", -1).limit(MAX_TOKENS).to_list()
    return TokenList(items=[view(d, now) for d in docs if d.get("role") and d.get("created_at")])


@router.post(
    "/tokens", response_model=TokenCreated, status_code=status.HTTP_202_ACCEPTED,
    responses={**INVALID, **UNAVAILABLE}, summary="Make a token (admin)",
)
async def create_token(body: TokenCreate, res: Res, who: Admin) -> TokenCreated:
    """The secret is in this answer only; ingest stores its hash within moments."""
    try:
        expires_in = parse_duration(body.expires_in) if body.expires_in else None
    except ValueError as exc:
        raise invalid("expires_in", str(exc), location="body", value=body.expires_in) from None
    secret, token_id = new_secret(), new_token_id()
    expires_at = expiry(datetime.now(UTC), expires_in)
    cmd = TokenCommand(action="create", token_id=token_id, hash=hash_token(secret), role=body.role,
                       token_name=body.name.strip(), expires_at=expires_at, actor=who.name)
    await publish(res, cmd)
    return TokenCreated(id=token_id, name=body.name.strip(), role=body.role, expires_at=expires_at, secret=secret,
                        command_id=cmd.event_id)


@router.delete(
    "/tokens/{token_id}", response_model=TokenRevoked, status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"model": Error, "description": "no active token with this id"}, **UNAVAILABLE},
    summary="Revoke a token (admin)",
)
async def revoke_token(token_id: str, res: Res, who: Admin) -> TokenRevoked:
    """Requests with the token are refused within seconds of ingest applying this."""
    found = await readmodel.tokens(res).find_one({"_id": token_id, "revoked_at": None}, {"_id": 1})
    if found is None:
        raise not_found(f"no active token with id {token_id!r}")
    cmd = TokenCommand(action="revoke", token_id=token_id, actor=who.name)
    await publish(res, cmd)
    return TokenRevoked(id=token_id, command_id=cmd.event_id)
