"""Logging the web page in: the token goes into an HttpOnly cookie, out of scripts' reach."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from pitwall.query_api.auth import COOKIE, ROLE_PERMISSIONS, Principal, Reader, principal_for
from pitwall.query_api.errors import AUTH, Error
from pitwall.query_api.models import Me, SessionRequest

router = APIRouter(prefix="/api/v1", tags=["session"])
COOKIE_MAX_AGE_S = 30 * 86400


def me_of(who: Principal) -> Me:
    perms = sorted(p.value for p in ROLE_PERMISSIONS.get(who.role, frozenset()))
    return Me(token_id=who.token_id, name=who.name, role=who.role, permissions=perms)


@router.post("/session", response_model=Me, responses={401: {"model": Error, "description": "invalid or revoked token"}}, summary="Log in")
async def login(body: SessionRequest, request: Request, response: Response) -> Me:
    """Checks the token and sets it as the `pitwall_token` cookie (HttpOnly, SameSite=Strict)."""
    who = await principal_for(request, body.token)
    if who is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked token")
    response.set_cookie(
        COOKIE, body.token, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="strict",
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
