"""Request plumbing: a correlation id per request, and no 500 for input we can't store."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bson.errors import InvalidDocument, InvalidStringData
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from pitwall.common.logging import correlation, get_logger
from starlette.exceptions import HTTPException as StarletteHTTPException

log = get_logger(__name__)
HEADER = "X-Correlation-Id"
_FASTAPI_BODY_ERROR = "There was an error parsing the body"
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def install(app: FastAPI) -> None:
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
