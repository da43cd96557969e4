"""Request plumbing: a correlation id per request, and no 500 for input we can't store."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bson.errors import InvalidDocument, InvalidStringData
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pitwall.common.logging import correlation, get_logger

log = get_logger(__name__)
HEADER = "X-Correlation-Id"
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
