"""Who is asking, and may they: bearer tokens (or the web page's cookie) and roles.

Tokens are created by `pitwall token create` or an admin in the web page (see
pitwall.common.apitokens); the `tokens` collection stores only their SHA-256 and,
optionally, when the token expires. A lookup is cached for `CACHE_TTL_S` so a page of plots
does not cost a database round trip per request, and short enough that a revoked token
stops working within seconds; expiry is checked on every request against the cached record.

Every protected route declares one `Guard` (the `Reader`...`Admin` annotations in `deps`):
`tests/integration/test_api_guards.py` finds it in each route's dependencies and checks
the live server answers 401/403 as it says, so a route without one cannot slip in.
Wrong tokens are counted per client (`limiter`): a burst of them is answered 429.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from pitwall.common.apitokens import ROLE_PERMISSIONS, Permission, aware, hash_token
from pitwall.common.logging import get_logger
from pitwall.query_api import readmodel
from pitwall.query_api.limiter import FailureLimiter
from pitwall.query_api.resources import Resources

log = get_logger(__name__)

COOKIE = "pitwall_token"
CACHE_TTL_S = 2.0
_CACHE_MAX = 4096


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    name: str
    role: str
    expires_at: datetime | None = None

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC))

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    @property
    def is_admin(self) -> bool:
        return self.can(Permission.admin)


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
        {"hash": token_hash, "revoked_at": None}, {"name": 1, "role": 1, "expires_at": 1}
    )
    if doc is None or doc.get("role") not in ROLE_PERMISSIONS:
        return None
    expires = aware(doc.get("expires_at"))
    return Principal(
        str(doc["_id"]), str(doc.get("name") or doc["_id"]), str(doc["role"]),
        expires,
    )


def token_cache(request: Request) -> TokenCache:
    cache: TokenCache | None = getattr(request.app.state, "token_cache", None)
    if cache is None:
        cache = request.app.state.token_cache = TokenCache()
    return cache


def limiter(request: Request) -> FailureLimiter:
    found: FailureLimiter | None = getattr(request.app.state, "auth_limiter", None)
    if found is None:
        settings = request.app.state.resources.settings
        found = request.app.state.auth_limiter = FailureLimiter(settings.auth_max_failures,
                                                                settings.auth_failure_window_s)
    return found


def client_of(request: Request) -> str:
    # uvicorn has already replaced this with X-Forwarded-For when the peer is a trusted
    # proxy (FORWARDED_ALLOW_IPS, 127.0.0.1 by default).
    return request.client.host if request.client else "unknown"


async def principal_for(request: Request, token: str) -> Principal | None:
    """The token's principal (expired ones included), or None for unknown/revoked."""
    res: Resources = request.app.state.resources
    return await token_cache(request).get(hash_token(token), lambda h: _load(res, h))


def _too_many(retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many wrong tokens from this client: try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


async def check_token(request: Request, token: str, *, how: str) -> Principal:
    """The valid, unexpired principal of `token`, or 401 (429 when this client has
    presented too many wrong tokens lately: then the token is not even looked up)."""
    client = client_of(request)
    limits = limiter(request)
    wait = limits.retry_after(client)
    if wait is not None:
        log.info("refused while locked out", client=client, how=how, retry_after_s=wait)
        raise _too_many(wait)
    principal = await principal_for(request, token)
    refusal = None
    if principal is None:
        refusal, reason = "invalid or revoked token", "unknown or revoked"
    elif principal.expires_at is not None and principal.expired():
        refusal, reason = (
            f"token expired at {principal.expires_at.strftime('%Y-%m-%d %H:%M:%S')} UTC; ask an admin for a new one",
            "expired",
        )
    if refusal is not None:
        log.info("wrong token", client=client, how=how, reason=reason)
        wait = limits.failed(client, hash_token(token))
        if wait is not None:
            raise _too_many(wait)
        raise _unauthorized(refusal)
    assert principal is not None
    limits.succeeded(client)
    usage = getattr(request.app.state, "token_usage", None)
    if usage is not None:
        usage.seen(principal.token_id)
    return principal


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
    principal = await check_token(request, token, how="bearer" if bearer is not None else "cookie")
    request.state.principal = principal
    return principal


class Guard:
    """The dependency a protected route declares: a valid token whose role has `permission`.

    A class (not a closure) so the route/role test can read which permission a route
    needs from the route itself; FastAPI resolves it (and `authenticate`) before the
    route's own path, query and body parameters, so a caller without the right token
    learns nothing from validation errors or 404s.
    """

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.can(self.permission):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"a {principal.role} token may not {self.permission.value}; ask an admin for a token with that role",
            )
        return principal

    def __repr__(self) -> str:
        return f"Guard({self.permission.value})"


def require(permission: Permission) -> Guard:
    return Guard(permission)
