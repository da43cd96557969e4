"""Machine-readable error codes: every API error body carries one beside its sentence.

`{"detail": "not an MCAP file (…)", "code": "not_mcap"}`. Clients (the base station, the
Python and MATLAB clients) decide on `code`; the sentence is for people and may change.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # 400 / 422: the request
    INVALID = "invalid"  # a parameter or the body breaks the documented schema
    # Fits the schema but breaks a rule the OpenAPI document can only describe in words
    # (an end before its start, a window outside the run, nothing to change).
    RULE = "rule"
    NOT_MCAP = "not_mcap"  # an upload that does not start with the MCAP magic
    CLIENT_GONE = "client_gone"  # the body stopped before it was complete
    # 401 / 403 / 429: who asks
    UNAUTHENTICATED = "unauthenticated"  # no, unknown, revoked or expired token
    FORBIDDEN = "forbidden"  # the token's role does not allow this
    TOO_MANY_FAILURES = "too_many_failures"  # too many wrong tokens from this client
    # 404 / 405 / 409 / 413
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    TOO_LARGE = "too_large"
    # 5xx: retry later
    BROKER_UNAVAILABLE = "broker_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    INTERNAL = "internal"


# The code an error answer gets when the raiser named none.
BY_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.INVALID,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.TOO_LARGE,
    422: ErrorCode.INVALID,
    429: ErrorCode.TOO_MANY_FAILURES,
    503: ErrorCode.BROKER_UNAVAILABLE,
}


def code_for_status(status: int) -> ErrorCode:
    return BY_STATUS.get(status, ErrorCode.INTERNAL if status >= 500 else ErrorCode.INVALID)
