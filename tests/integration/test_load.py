"""CI's short `make load`: people on the real API while ingest digests a stream of
uploads and a converter exports; no response >= 500 and no job lost (never a time).

Locust runs as its own process (it monkeypatches the standard library with gevent),
against query_api, ingest and a converter, each a `pitwall service` process on this
test's vhost and database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.with_ingest import start_api_with_ingest

# bench/ is the repository's benchmark package, not an installed one: the repository root is
# on pytest's pythonpath (pyproject.toml).
from bench.load import seeding, synthfiles
from bench.load.checks import check_jobs
from bench.load.locustrun import Plan, run_locust

pytestmark = pytest.mark.stack

PLAN = Plan(users=5, spawn_rate=5, run_time_s=12, upload_every_s=2.0, export_timeout_s=30, every_job_once=True)


def test_short_load_gives_no_5xx_and_loses_no_job(
    settings: Any, service_env: dict[str, str], endpoints: Any, tmp_path: Path, pitwall_service: Any
) -> None:
    files = tmp_path / "files"
    seeds = synthfiles.seed_files(2, 0.5, folder=files)
    stream = synthfiles.stream_files(5, 0.2, folder=files)  # the third is cut: a recovered run
    for api, _ingest in start_api_with_ingest(settings, service_env, endpoints, tmp_path, "load"):
        converter = pitwall_service("converter", settings=api.settings)
        tokens = {role: api.tokens[role] for role in ("viewer", "editor", "uploader")}
        runs = seeding.seed(api.base_url, tokens["uploader"], seeds, timeout=60)
        converter.wait_for_log("consuming", timeout=60)

        result = run_locust(api.base_url, tokens, runs, stream, PLAN, tmp_path / "locust")
        jobs = check_jobs(api.base_url, tokens, result.journal, drain_s=30)

        codes = {f"{e.method} {e.name}": e.codes for e in result.endpoints}
        assert result.server_errors == 0, f"responses >= 500: {codes}"
        refused = {name: c for name, c in codes.items() if any(code == "0" or int(code) >= 400 for code in c)}
        assert refused == {}, f"requests the API refused or dropped: {refused}; {result.failures}"
        assert jobs.problems == [] and jobs.lost == 0, jobs.problems
        # The checks had something to check: every kind of job happened.
        assert result.total is not None and result.total.requests > 50, codes
        assert jobs.exports_started >= PLAN.users and jobs.exports_done + jobs.exports_failed == jobs.exports_started
        assert jobs.edits_accepted >= 1 and jobs.edits_lost == 0
        assert jobs.uploads_accepted >= 3 and jobs.runs_by_status.get("recovered", 0) == 1, jobs.runs_by_status
        series = next(e for e in result.endpoints if e.name == "/api/v1/runs/{id}/series")
        assert series.requests > 0 and series.failures == 0
        assert converter.alive and api.process.alive and _ingest.alive
