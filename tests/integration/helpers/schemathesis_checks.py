"""Two of schemathesis' checks as this API's document means them (loaded by `st run` through
SCHEMATHESIS_HOOKS; test_api_schema.py excludes the built-in ones they narrow).

- `positive_data_acceptance_but_rules`: a schema-valid request must be accepted, except
  when the answer is 422 with the code `rule` (fits the schema, breaks a rule between
  fields or against the data that the operation's description states and JSON Schema
  cannot: an end before its start, a lap named twice, a window past the run's end) or
  `not_mcap` (a `format: binary` body is any bytes to the document; the server reads the
  MCAP magic). Any other rejection of valid data still fails.
- `use_after_free_unless_accepted`: a resource deleted by a DELETE answered 202
  (accepted, applied later by ingest: RFC 9110's "not yet completed") may still be read;
  after a DELETE that answered 200/204 a read must be 404 as schemathesis says.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData, UseAfterFree
from schemathesis.specs.openapi.checks import positive_data_acceptance, use_after_free

# The codes of pitwall.common.contracts.errorcodes a schema-valid request may be refused with.
DOCUMENTED_REFUSALS = {"rule", "not_mcap"}


def _code(response: Any) -> str | None:
    try:
        body = response.json()
    except (ValueError, LookupError):  # not JSON, not text, or an unknown charset: no code, the built-in verdict stands
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


@schemathesis.check
def positive_data_acceptance_but_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 422 and _code(response) in DOCUMENTED_REFUSALS:
            return None
        raise


@schemathesis.check
def use_after_free_unless_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return use_after_free(ctx, response, case)
    except UseAfterFree as exc:
        deleted = ctx.internals.find_response(case_id=exc.deleted_case_id)
        if deleted is not None and deleted.status_code == 202:
            return None
        raise
