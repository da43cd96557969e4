"""The README's Python client example, exactly as written, against `make up`'s sample runs
on the real stack (ingest, converter, query_api): a reader who pastes it gets no error."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.api import Api, require_ok
from helpers.with_ingest import start_api_with_ingest_and_converter, wait_for

from pitwall.common.settings import Settings
from pitwall.devstack.samples import SAMPLES, load_samples

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
MAKE_UP_URL = "http://127.0.0.1:8000"


def readme_example() -> str:
    """The ```python block of "Comparing laps and runs" that starts with the client import."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Comparing laps and runs", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return next(b for b in blocks if b.startswith("from pitwall.client import Client"))


@pytest.fixture(scope="module")
def api(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    yield from start_api_with_ingest_and_converter(settings, service_env, endpoints,
                                                   tmp_path_factory.mktemp("readme"), "readme")


def test_the_readme_client_example_runs_against_the_samples(api: Api, tmp_path: Path) -> None:
    load_samples(api.settings.model_copy(update={"data_dir": tmp_path / "data"}))

    def all_ingested() -> bool:
        with api.client("viewer") as c:
            listed = require_ok(c.get("/api/v1/runs", params={"status": ["ready", "recovered"]}))
            return len(listed["items"]) == len(SAMPLES)

    wait_for(all_ingested, "the sample runs", 240, every=1.0)
    # The example reads the token file `make up` writes, from where it is started.
    (tmp_path / ".pitwall").mkdir()
    (tmp_path / ".pitwall" / "admin-token").write_text(api.tokens["admin"] + "\n")
    code = readme_example()
    assert MAKE_UP_URL in code
    # What the example promises in its comments, checked after it ran.
    checks = """
assert len(runs) >= 2, runs
assert S["VNData"]["t"].min() >= 60 and S["VNData"]["t"].max() <= 90 and len(S["VNData"]["vn_vel.x"]) > 100
assert len(df) == len(S["VNData"]["t"])
times = {lap["lap"]: lap["time_s"] for lap in laps}
assert abs(cmp.delta[1][-1] - (times[other] - times[best])) < 0.01
assert len(cmp.laps[2]["signals"]["VNData:vn_vel.x"]) == len(cmp.grid)
assert table["lap"].nunique() == 3
"""
    script = code.replace(MAKE_UP_URL, api.base_url) + checks
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
