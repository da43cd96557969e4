"""schemathesis against the live OpenAPI document: no 500s, answers match the schema.

Generated requests, valid and invalid, go to a real query_api on the real servers with
an admin token, so every operation is reached past authentication. (schemathesis'
pytest plugin does not run under pytest 9, so each operation is driven through
hypothesis here.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from helpers.api import T0_NS, Api, insert_run, recording, start_api
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hyp_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from pitwall.common.settings import Settings
from pitwall.query_api.main import create_app

pytestmark = pytest.mark.stack

EXAMPLES = 15
FRAMING = {"content-length", "transfer-encoding", "host", "connection"}
SPEC = create_app().openapi()
OPERATIONS = [(path, method.upper()) for path, ops in SPEC["paths"].items() for method in ops]
# Invalid requests exist only where there is a body or a query parameter to break: a
# free-form path segment is always valid, and the credentials are ours.
CAN_BE_INVALID = [
    (path, method) for path, method in OPERATIONS
    if "requestBody" in SPEC["paths"][path][method.lower()]
    or any(p["in"] == "query" for p in SPEC["paths"][path][method.lower()].get("parameters", []))
]
CASES = [(p, m, GenerationMode.POSITIVE) for p, m in OPERATIONS] + [(p, m, GenerationMode.NEGATIVE) for p, m in CAN_BE_INVALID]


def _mutates_credentials(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    components = getattr(meta, "components", None) or {}
    return any(
        getattr(location, "value", location) in ("header", "cookie") and getattr(info, "mode", None) is GenerationMode.NEGATIVE
        for location, info in components.items()
    )


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    # Generated log-ins send many different wrong tokens: the per-client limit
    # (tested in test_api_security) would lock the admin token out too.
    for a in start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-schema"), "schema", upload_max_bytes=1 << 20,
                       auth_max_failures=1_000_000):
        insert_run(a, recording(T0_NS), "schema.mcap", store=True)
        yield a


@pytest.fixture(scope="module")
def live_schema(api: Api) -> Any:
    return schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")


@pytest.mark.parametrize(("path", "method", "mode"), CASES, ids=[f"{m} {p} {g.value}" for p, m, g in CASES])
def test_operation_conforms_to_the_openapi(api: Api, live_schema: Any, path: str, method: str, mode: GenerationMode) -> None:
    operation = live_schema[path][method]
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
    if mode is GenerationMode.NEGATIVE and method.lower() in ("post", "patch", "put"):
        # Only for JSON bodies: a query string has no types, so "an integer where the
        # schema says array of strings" (`has_topic=-4168`) is a valid topic name there.
        checks.append(negative_data_rejection)
    headers = {"Authorization": f"Bearer {api.tokens['admin']}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @hyp_settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
        derandomize=True,  # the same examples on every run: CI can't fail by luck
    )
    def run(case: Any) -> None:
        # Framing headers made invalid are refused by the HTTP server itself (uvicorn's
        # plain-text 400) before the application sees the request: not the API's answer.
        assume(not any(h.lower() in FRAMING for h in (case.headers or {})))
        # The credentials sent are ours: an invalid token made up for the security
        # header or cookie is replaced by the admin token, so it is not "accepted".
        assume(not _mutates_credentials(case))
        case.call_and_validate(base_url=api.base_url, headers=headers, checks=checks, timeout=30)

    try:
        run()
    except Unsatisfiable:
        pytest.skip("no invalid request exists for this operation (nothing to vary)")
