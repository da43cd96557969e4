"""Error answers shared by the routers, in FastAPI's shapes (`detail` names the field)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel


class Error(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(BaseModel):
    """FastAPI's 422 body, for the routes that check their input by hand."""

    detail: list[FieldError]


def invalid(field: str, message: str, location: str = "query", value: Any = None) -> RequestValidationError:
    """A 422 like FastAPI's own validation errors, for checks made in handlers."""
    return RequestValidationError(
        [{"type": "value_error", "loc": (location, field), "msg": message, "input": value}]
    )


def not_found(message: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, message)


def unavailable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, message, headers={"Retry-After": "5"})


AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "missing, invalid, revoked or expired token"},
    403: {"model": Error, "description": "the token's role does not allow this"},
    429: {"model": Error, "description": "too many wrong tokens from this client lately: wait `Retry-After` seconds"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "unknown (or deleted) run"}}
INVALID: dict[int | str, dict[str, Any]] = {422: {"model": ValidationErrors, "description": "a parameter or the body is not valid"}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"model": Error, "description": "the message broker is not reachable; retry"}}
