"""Who is asking, and may they: bearer tokens (or the web page's cookie) and roles.

Tokens are created by `pitwall token create` (pitwall.ingest.tokens); the `tokens`
collection stores only their SHA-256. A lookup is cached for `CACHE_TTL_S` so a page
of plots does not cost a database round trip per request, and short enough that a
revoked token stops working within seconds.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from pitwall.query_api import readmodel
from pitwall.query_api.deps import Resources

COOKIE = "pitwall_token"
CACHE_TTL_S = 2.0
_CACHE_MAX = 4096


class Permission(StrEnum):
    read = "read"
    export = "export"
    upload = "upload"
    edit = "edit"
    admin = "admin"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset({Permission.read, Permission.export}),
    "uploader": frozenset({Permission.read, Permission.export, Permission.upload}),
    "editor": frozenset({Permission.read, Permission.export, Permission.edit}),
    "admin": frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    name: str
    role: str

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    @property
    def is_admin(self) -> bool:
        return self.can(Permission.admin)


def hash_token(token: str) -> str:
    # The same hash `pitwall.ingest.tokens.hash_token` stores.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenCache:
    """Token hash -> Principal (or None for unknown), each entry kept `ttl` seconds."""

    def __init__(self, ttl: float = CACHE_TTL_S) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    async def get(self, token_hash: str, load: Callable[[str], Awaitable[Principal | None]]) -> Principal | None:
        now = time.monotonic()
        hit = self._entries.get(token_hash)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = await load(token_hash)
        if len(self._entries) >= _CACHE_MAX:
            # Random tokens must not grow memory without bound.
            self._entries.clear()
        self._entries[token_hash] = (now + self.ttl, principal)
        return principal


async def _load(res: Resources, token_hash: str) -> Principal | None:
    doc: dict[str, Any] | None = await readmodel.tokens(res).find_one(
        {"hash": token_hash, "revoked_at": None}, {"name": 1, "role": 1}
    )
    if doc is None or doc.get("role") not in ROLE_PERMISSIONS:
        return None
    return Principal(str(doc["_id"]), str(doc.get("name") or doc["_id"]), str(doc["role"]))


def token_cache(request: Request) -> TokenCache:
    cache: TokenCache | None = getattr(request.app.state, "token_cache", None)
    if cache is None:
        cache = request.app.state.token_cache = TokenCache()
    return cache


async def principal_for(request: Request, token: str) -> Principal | None:
    res: Resources = request.app.state.resources
    return await token_cache(request).get(hash_token(token), lambda h: _load(res, h))


# Declared as security schemes so /docs has an "Authorize" button and the OpenAPI
# document says how to authenticate.
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <token>`")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="set by POST /api/v1/session")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        raise _unauthorized("missing token: send `Authorization: Bearer <token>`")
    principal = await principal_for(request, token)
    if principal is None:
        raise _unauthorized("invalid or revoked token")
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.can(permission):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"a {principal.role} token may not {permission.value}; ask an admin for a token with that role",
            )
        return principal

    return check


Reader = Annotated[Principal, Depends(require(Permission.read))]
Exporter = Annotated[Principal, Depends(require(Permission.export))]
Uploader = Annotated[Principal, Depends(require(Permission.upload))]
Editor = Annotated[Principal, Depends(require(Permission.edit))]
Admin = Annotated[Principal, Depends(require(Permission.admin))]
