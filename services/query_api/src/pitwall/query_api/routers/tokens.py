"""API tokens for admins: list, make (the secret is shown once), revoke.

The `tokens` collection is ingest's: a new token's hash and a revocation travel as
`token.command` events, so the answer is 202 and the token works within moments.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from pitwall.query_api.deps import Admin, Res
from pitwall.query_api.domain import tokens
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, Error
from pitwall.query_api.models import TokenCreate, TokenCreated, TokenList, TokenRevoked

router = APIRouter(prefix="/api/v1", tags=["tokens"], responses=AUTH)


@router.get("/tokens", response_model=TokenList, summary="API tokens (admin)")
async def list_tokens(res: Res, who: Admin) -> TokenList:
    """Every token, newest first: active, expired and revoked (kept for the record)."""
    return await tokens.listing(res)


@router.post(
    "/tokens", response_model=TokenCreated, status_code=status.HTTP_202_ACCEPTED,
    responses={**INVALID, **UNAVAILABLE}, summary="Make a token (admin)",
)
async def create_token(body: TokenCreate, res: Res, who: Admin) -> TokenCreated:
    """The secret is in this answer only; ingest stores its hash within moments."""
    return await tokens.create(res, body, who)


@router.delete(
    "/tokens/{token_id}", response_model=TokenRevoked, status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"model": Error, "description": "no active token with this id"}, **UNAVAILABLE},
    summary="Revoke a token (admin)",
)
async def revoke_token(token_id: str, res: Res, who: Admin) -> TokenRevoked:
    """Requests with the token are refused within seconds of ingest applying this."""
    return await tokens.revoke(res, token_id, who)
