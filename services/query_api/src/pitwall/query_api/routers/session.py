"""Logging the web page in: the token goes into an HttpOnly cookie, out of scripts' reach."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status

from pitwall.query_api.auth import COOKIE, ROLE_PERMISSIONS, Principal, check_token
from pitwall.query_api.deps import Reader
from pitwall.query_api.errors import AUTH, Error
from pitwall.query_api.models import Me, SessionRequest

router = APIRouter(prefix="/api/v1", tags=["session"])
COOKIE_MAX_AGE_S = 30 * 86400


def me_of(who: Principal) -> Me:
    perms = sorted(p.value for p in ROLE_PERMISSIONS.get(who.role, frozenset()))
    return Me(token_id=who.token_id, name=who.name, role=who.role, permissions=perms)


@router.post(
    "/session", response_model=Me, summary="Log in",
    responses={
        401: {"model": Error, "description": "invalid, revoked or expired token"},
        429: {"model": Error,
              "description": "too many wrong tokens from this client lately: wait `Retry-After` seconds"},
    },
)
async def login(body: SessionRequest, request: Request, response: Response) -> Me:
    """Checks the token and sets it as the `pitwall_token` cookie (HttpOnly, SameSite=Strict),
    kept until the token expires (at most 30 days). Wrong tokens count towards the
    client's limit (see `pitwall.query_api.limiter`)."""
    who = await check_token(request, body.token, how="login")
    max_age = COOKIE_MAX_AGE_S
    if who.expires_at is not None:
        max_age = max(1, min(max_age, int((who.expires_at - datetime.now(UTC)).total_seconds())))
    response.set_cookie(
        COOKIE, body.token, max_age=max_age, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )
    return me_of(who)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, summary="Log out")
async def logout(request: Request) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.get("/me", response_model=Me, responses=AUTH, summary="Who am I")
async def me(who: Reader) -> Me:
    return me_of(who)
