"""Request plumbing: a correlation id per request, security headers on every answer, and no
500 for input we can't store."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from bson.errors import InvalidDocument, InvalidStringData
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from minio.error import ServerError
from pymongo.errors import PyMongoError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from urllib3.exceptions import HTTPError as Urllib3Error

from pitwall.common.logging import correlation, get_logger
from pitwall.common.storage import InvalidKey

log = get_logger(__name__)
HEADER = "X-Correlation-Id"
_FASTAPI_BODY_ERROR = "There was an error parsing the body"
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# Headers on every answer; the web page's own Content-Security-Policy (routers/web.py)
# is stricter than the API's and is kept where a route set one.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
PERMISSIONS_POLICY = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS_POLICY,
}


class SecurityHeaders:
    """Pure ASGI (no buffering, so streamed downloads and server-sent events pass as they are)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", API_CSP)
                if path.startswith("/api/"):
                    # Answers are made for one token: no shared cache, no copy on disk.
                    headers.setdefault("Cache-Control", "no-store")
                if https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI) -> None:
    app.add_middleware(SecurityHeaders)

    @app.middleware("http")
    async def correlate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # Carried into every event published while handling the request (AMQP headers),
        # so an upload can be followed through ingest's logs.
        given = request.headers.get(HEADER, "")
        with correlation(given if _VALID.match(given) else None) as cid:
            response = await call_next(request)
        response.headers[HEADER] = cid
        return response

    async def unstorable(request: Request, exc: Exception) -> JSONResponse:
        # Text that is not valid UTF-8 (lone surrogates) cannot go into BSON or JSON.
        return JSONResponse(
            {"detail": [{"type": "value_error", "loc": ["request"], "msg": "text must be valid UTF-8"}]},
            status_code=422,
        )

    for exc_type in (UnicodeEncodeError, InvalidStringData, InvalidDocument):
        app.add_exception_handler(exc_type, unstorable)

    async def invalid_key(request: Request, exc: Exception) -> JSONResponse:
        # An object key part that is not a hash (pitwall.common.storage): bad input, not a 500.
        log.info("invalid object key part", error=str(exc)[:200], path=request.url.path)
        return JSONResponse({"detail": [{"type": "value_error", "loc": ["request"], "msg": str(exc)}]}, status_code=422)

    app.add_exception_handler(InvalidKey, invalid_key)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:
            # A body that is not JSON at all is bad input like any other: 422, naming it.
            return JSONResponse(
                {"detail": [{"type": "json_invalid", "loc": ["body"], "msg": "the body is not valid JSON"}]},
                status_code=422,
            )
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # MongoDB down or too slow: say so (503, retry) instead of dropping the connection.
        log.warning("database error", error=f"{type(exc).__name__}: {exc}"[:300], path=request.url.path)
        return JSONResponse(
            {"detail": "the database is unavailable or too slow right now; try again shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    app.add_exception_handler(PyMongoError, database_unavailable)

    async def storage_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # S3 down or failing (connection refused, 5xx): the same 503 as for MongoDB,
        # not a bare 500 (the fault campaign's "S3 stopped" row answered uploads with 500).
        log.warning("object storage error", error=f"{type(exc).__name__}: {exc}"[:300], path=request.url.path)
        return JSONResponse(
            {"detail": "the object storage is unavailable right now; try again shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    for storage_exc in (Urllib3Error, ServerError):
        app.add_exception_handler(storage_exc, storage_unavailable)


def _is_sequence(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_sequence(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return any(_is_sequence(a) for a in get_args(annotation) if a is not type(None))
    return origin in (list, tuple, set, frozenset)


def _scalar_query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params if not _is_sequence(p.field_info.annotation)}
    for sub in dependant.dependencies:
        names |= _scalar_query_names(sub)
    return names


async def reject_repeated_parameters(request: Request) -> None:
    """A query parameter that takes one value, given twice, is an error, not "the last wins"."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    keys = [k for k, _ in request.query_params.multi_items()]
    repeated = {k for k in keys if keys.count(k) > 1}
    if not repeated:
        return
    for name in sorted(repeated & _scalar_query_names(dependant)):
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", name), "msg": "give this parameter once", "input": None}]
        )
