"""Error answers shared by the routers, in FastAPI's shapes (`detail` names the field),
each with a machine-readable `code` (pitwall.common.contracts.errorcodes) beside it.

Raise `ApiError` (or `HTTPException`: its code then follows from the status) and
`invalid(...)`; the handlers in `middleware` render every error as
`{"detail": ..., "code": ...}`, so a client decides on `code` and shows `detail`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from pitwall.common.contracts.errorcodes import ErrorCode, code_for_status

CODE_DOC = "machine-readable: decide on this, not on `detail` (which is for people and may change)"


class Error(BaseModel):
    detail: str
    code: ErrorCode = Field(description=CODE_DOC)


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(BaseModel):
    """FastAPI's 422 body (`detail` lists the fields), with the code of the whole answer."""

    detail: list[FieldError]
    code: ErrorCode = Field(description=CODE_DOC)


class ApiError(HTTPException):
    """An HTTP error that names its code; without one the status decides (code_for_status)."""

    def __init__(
        self, status_code: int, detail: str, code: ErrorCode | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, detail, headers=dict(headers) if headers else None)
        self.code = code or code_for_status(status_code)


class Invalid(RequestValidationError):
    """A 422 raised by a handler's own check, carrying its code (`invalid`, `rule`, `not_mcap`)."""

    def __init__(self, errors: list[dict[str, Any]], code: ErrorCode = ErrorCode.INVALID) -> None:
        super().__init__(errors)
        self.code = code


def error_code(exc: Exception) -> ErrorCode:
    """The code an exception's answer carries."""
    found = getattr(exc, "code", None)
    if isinstance(found, ErrorCode):
        return found
    if isinstance(exc, RequestValidationError):
        # A pydantic validator that raises PydanticCustomError("rule", ...) marks a
        # cross-field rule; the answer is `rule` only when every error is one.
        types = {str(e.get("type")) for e in exc.errors()}
        return ErrorCode.RULE if types == {ErrorCode.RULE.value} else ErrorCode.INVALID
    if isinstance(exc, StarletteHTTPException):  # Starlette's own too: 404 of no route, 405
        return code_for_status(exc.status_code)
    return ErrorCode.INTERNAL


def invalid(
    field: str, message: str, location: str = "query", value: Any = None, code: ErrorCode = ErrorCode.INVALID,
) -> RequestValidationError:
    """A 422 like FastAPI's own validation errors, for checks made in handlers.

    `code=ErrorCode.RULE` for a request that fits the schema but breaks a rule the OpenAPI
    document can only describe (an order between two fields, a window inside the run).
    """
    return Invalid([{"type": "value_error", "loc": (location, field), "msg": message, "input": value}], code)


def rule(field: str, message: str, location: str = "query", value: Any = None) -> RequestValidationError:
    """A 422 for a request that fits the schema but breaks a rule the operation describes."""
    return invalid(field, message, location, value, code=ErrorCode.RULE)


def not_found(message: str) -> HTTPException:
    return ApiError(status.HTTP_404_NOT_FOUND, message, ErrorCode.NOT_FOUND)


def unavailable(message: str) -> HTTPException:
    return ApiError(
        status.HTTP_503_SERVICE_UNAVAILABLE, message, ErrorCode.BROKER_UNAVAILABLE, headers={"Retry-After": "5"},
    )


AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "missing, invalid, revoked or expired token (`unauthenticated`)"},
    403: {"model": Error, "description": "the token's role does not allow this (`forbidden`)"},
    429: {"model": Error, "description": "too many wrong tokens from this client lately: "
                                         "wait `Retry-After` seconds (`too_many_failures`)"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "unknown (or deleted) run"}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrors, "description": "a parameter or the body is not valid (`invalid`), "
                                                    "or breaks a rule the operation describes (`rule`)"},
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Error, "description": "the message broker is not reachable; retry (`broker_unavailable`)"},
}
