"""Request plumbing: a correlation id per request, security headers on every answer, and no
500 for input we can't store."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from bson.errors import InvalidDocument, InvalidStringData
from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from minio.error import S3Error, ServerError
from pymongo.errors import PyMongoError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from urllib3.exceptions import HTTPError as Urllib3Error

from pitwall.common.contracts.errorcodes import ErrorCode
from pitwall.common.logging import correlation, get_logger
from pitwall.common.storage import InvalidKey
from pitwall.query_api.errors import error_code
from pitwall.query_api.models import PATTERN_HINTS

log = get_logger(__name__)
HEADER = "X-Correlation-Id"
_FASTAPI_BODY_ERROR = "There was an error parsing the body"
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_MISSING_OBJECT = {"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound", "NoSuchBucket"}


# Headers on every answer; the web page's own Content-Security-Policy (routers/web.py)
# is stricter than the API's and is kept where a route set one.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
                      "payment=(), usb=()")
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
        return _error(422, [{"type": "value_error", "loc": ["request"], "msg": "text must be valid UTF-8"}])

    for exc_type in (UnicodeEncodeError, InvalidStringData, InvalidDocument):
        app.add_exception_handler(exc_type, unstorable)

    async def invalid_key(request: Request, exc: Exception) -> JSONResponse:
        # An object key part that is not a hash (pitwall.common.storage): bad input, not a 500.
        log.info("invalid object key part", error=str(exc)[:200], path=request.url.path)
        return _error(422, [{"type": "value_error", "loc": ["request"], "msg": str(exc)}])

    app.add_exception_handler(InvalidKey, invalid_key)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _error(422, jsonable_encoder([_hinted(e) for e in exc.errors()]), error_code(exc))

    app.add_exception_handler(RequestValidationError, validation_error)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:
            # A body that is not JSON at all is bad input like any other: 422, naming it.
            return _error(422, [{"type": "json_invalid", "loc": ["body"], "msg": "the body is not valid JSON"}])
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # FastAPI makes one route per method, and Starlette's 405 lists only the first
            # matching route's methods: `Allow` must list every method of the path.
            methods = allowed_methods(request)
            if methods:
                headers["Allow"] = ", ".join(methods)
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=headers)
        return _error(exc.status_code, exc.detail, error_code(exc), headers)

    app.add_exception_handler(StarletteHTTPException, http_error)

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # MongoDB down or too slow: say so (503, retry) instead of dropping the connection.
        log.warning("database error", error=f"{type(exc).__name__}: {exc}"[:300], path=request.url.path)
        return _error(
            503, "the database is unavailable or too slow right now; try again shortly",
            ErrorCode.DATABASE_UNAVAILABLE, {"Retry-After": "5"},
        )

    app.add_exception_handler(PyMongoError, database_unavailable)

    async def storage_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # S3 down or failing (connection refused, 5xx): the same 503 as for MongoDB,
        # not a bare 500 (the fault campaign's "S3 stopped" row answered uploads with 500).
        log.warning("object storage error", error=f"{type(exc).__name__}: {exc}"[:300], path=request.url.path)
        return _error(
            503, "the object storage is unavailable right now; try again shortly",
            ErrorCode.STORAGE_UNAVAILABLE, {"Retry-After": "5"},
        )

    for storage_exc in (Urllib3Error, ServerError):
        app.add_exception_handler(storage_exc, storage_unavailable)

    async def storage_refused(request: Request, exc: Exception) -> JSONResponse:
        # An object the catalogue names but S3 does not hold (removed by hand, a restore
        # without files): 404 like any missing thing; other refusals are S3 failing.
        assert isinstance(exc, S3Error)
        if exc.code in _MISSING_OBJECT:
            log.warning("object missing", code=exc.code, path=request.url.path)
            return _error(404, "the stored file is missing from the object storage", ErrorCode.NOT_FOUND)
        return await storage_unavailable(request, exc)

    app.add_exception_handler(S3Error, storage_refused)

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the exception and re-raises it after this answer is sent; the
        # client gets the same JSON shape as for every other error instead of plain text.
        return _error(500, "internal server error", ErrorCode.INTERNAL)

    app.add_exception_handler(Exception, internal_error)


def _error(
    status: int, detail: Any, code: ErrorCode | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Every error answer's shape: FastAPI's `detail` (a sentence or the list of fields) and `code`."""
    return JSONResponse({"detail": detail, "code": code or ErrorCode.INVALID}, status_code=status, headers=headers)


def allowed_methods(request: Request) -> list[str] | None:
    """The methods the OpenAPI document lists for this request's path (for a 405's `Allow`);
    None for a path it does not list (the web pages)."""
    paths: list[tuple[re.Pattern[str], list[str]]] | None = getattr(request.app.state, "allow_by_path", None)
    if paths is None:
        paths = []
        for template, item in request.app.openapi().get("paths", {}).items():
            regex = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
            paths.append((regex, sorted(m.upper() for m in item if m in _METHODS)))
        request.app.state.allow_by_path = paths
    for regex, methods in paths:
        if regex.match(request.url.path):
            return methods
    return None


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


def _hinted(error: Any) -> Any:
    """A pattern mismatch says what the parameter wants, not only the regular expression."""
    if isinstance(error, dict) and error.get("type") == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(str((error.get("ctx") or {}).get("pattern")))
        if hint:
            return {**error, "msg": f"{hint} ({error.get('msg')})"}
    return error
