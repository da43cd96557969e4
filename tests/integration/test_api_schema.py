"""The OpenAPI document is the contract: schemathesis' `st run --checks all` against a live
query_api on the real servers, with an admin token so every operation is reached past
authentication, must find nothing.

All of schemathesis' phases run (examples, coverage, fuzzing, stateful): valid and invalid
requests, boundary values, methods the path does not serve (405 with `Allow`), sequences
that create and delete. Two checks are taken in this API's sense (helpers/
schemathesis_checks.py says why): a schema-valid request may be refused only with the
code `rule` or `not_mcap`, and a DELETE answered 202 is applied later. No operation may go
untested: the JUnit report must list every operation of the document, none skipped.
(schemathesis' pytest plugin does not run under pytest 9: the CLI is the runner.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers.api import T0_NS, Api, insert_run, recording, start_api

from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack

HELPERS = Path(__file__).parent / "helpers"
# Fixed: the same requests on every run, so CI cannot fail (or pass) by luck.
SEED = "20261207"
MAX_EXAMPLES = "25"
# 413 is how the server refuses a file size above the limit the document states.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
"""
NARROWED = "positive_data_acceptance,use_after_free"  # replaced by the helpers' checks


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    # Generated log-ins send many different wrong tokens: the per-client limit
    # (tested in test_api_security) would lock the admin token out too.
    for a in start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-schema"), "schema",
                       upload_max_bytes=1 << 20,
                       auth_max_failures=1_000_000):
        insert_run(a, recording(T0_NS), "schema.mcap", store=True)
        yield a


def _operations(api: Api) -> set[str]:
    spec = httpx.get(f"{api.base_url}/openapi.json", timeout=30).json()
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item if method in methods}


def test_every_operation_conforms_to_the_openapi_document(api: Api, tmp_path: Path) -> None:
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    junit = tmp_path / "junit.xml"
    command = [
        str(Path(sys.executable).parent / "st"), "--config-file", str(tmp_path / "schemathesis.toml"), "--no-color",
        "run", f"{api.base_url}/openapi.json",
        "--checks", "all", "--exclude-checks", NARROWED,
        "-H", f"Authorization: Bearer {api.tokens['admin']}",
        "--seed", SEED, "--max-examples", MAX_EXAMPLES, "--workers", "2", "--request-timeout", "30",
        "--report", "junit", "--report-junit-path", str(junit), "--output-truncate", "false",
    ]
    env = os.environ | {
        "SCHEMATHESIS_HOOKS": "schemathesis_checks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HELPERS), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-20_000:]

    cases = ET.parse(junit).getroot().iter("testcase")
    tested = {case.get("name", ""): case for case in cases}
    missing = _operations(api) - set(tested)
    assert not missing, f"operations schemathesis did not test: {sorted(missing)}\n{output[-5000:]}"
    skipped = sorted(name for name, case in tested.items() if case.find("skipped") is not None)
    assert not skipped, f"operations skipped: {skipped}\n{output[-5000:]}"
