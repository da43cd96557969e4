"""Exported files say what they are, on the real stack (query_api, ingest, a converter):
the download is named after the run's setup, the selection and the window, and every
member of a Parquet zip ends in `.parquet`. One synth run uploaded through the API."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from helpers.api import Api, require_ok
from helpers.with_ingest import start_api_with_ingest_and_converter, wait_for

from pitwall.common.settings import Settings
from pitwall.synth import write_synth

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    yield from start_api_with_ingest_and_converter(settings, service_env, endpoints,
                                                   tmp_path_factory.mktemp("names-logs"), "names")


def _upload(api: Api, folder: Path, name: str, minutes: float, seed: int) -> dict[str, Any]:
    summary = write_synth(folder / name, minutes=minutes, seed=seed)
    with api.client("uploader") as c, open(summary.path, "rb") as fh:
        run_id = require_ok(c.post("/api/v1/uploads", files={"file": (summary.path.name, fh)}), 202)["id"]
    with api.client("viewer") as c:
        return wait_for(lambda: (r := c.get(f"/api/v1/runs/{run_id}")).status_code == 200 and r.json(), "the run",
                        timeout=120)


@pytest.fixture(scope="module")
def run(stack: Api, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _upload(stack, tmp_path_factory.mktemp("names-synth"), "log_0042.mcap", 0.25, 31)


@pytest.fixture(scope="module")
def other_run(stack: Api, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _upload(stack, tmp_path_factory.mktemp("names-synth-2"), "log_0043.mcap", 0.1, 32)


def _export(api: Api, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    with api.client("viewer") as c:
        job = require_ok(c.post("/api/v1/exports", json=body), 202)
        status = wait_for(lambda: (s := require_ok(c.get(job["status_url"])))["status"] in ("done", "failed") and s,
                          "the export", timeout=120)
        assert status["status"] == "done", status.get("reason")
        return status, c.get(status["file_url"]).raise_for_status().content


def test_the_download_is_named_after_run_selection_and_window(stack: Api, run: dict[str, Any]) -> None:
    when = datetime.fromisoformat(run["start_time"])
    label = f"{run['setup']['event_type']}_{when:%Y-%m-%d_%H%M}"
    signals = ["VNData:vn_vel.*", "ACU_data:*"]
    with stack.client("viewer") as c:
        tree = require_ok(c.get(f"/api/v1/runs/{run['id']}/signals"))
    count = sum(1 for t in tree["topics"] for s in t["signals"]
                if (t["topic"] == "VNData" and s["path"].startswith("vn_vel.")) or t["topic"] == "ACU_data")
    status, data = _export(stack, {"runs": [run["id"]], "signals": signals, "start": 3, "end": 9.5})
    assert status["filename"] == f"{label}_{count}sig_3-9.5s.mat"
    assert data.startswith(b"MATLAB 5.0 MAT-file")
    other, _ = _export(stack, {"runs": [run["id"]], "signals": signals, "start": 3})
    assert other["filename"] == f"{label}_{count}sig_3s-end.mat"


def test_parquet_members_end_in_parquet(stack: Api, run: dict[str, Any]) -> None:
    body = {"runs": [run["id"]], "signals": ["VNData:vn_vel.x"], "format": "parquet"}
    resampled, data = _export(stack, {**body, "resample_hz": 20})
    stem = resampled["filename"].removesuffix(".zip")
    assert stem.endswith("_VNData_1sig_20Hz")
    members = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert members == [f"{stem}.parquet"]
    table = pq.read_table(io.BytesIO(zipfile.ZipFile(io.BytesIO(data)).read(members[0])))
    assert table.column_names == ["t", "VNData:vn_vel.x"]
    _, data = _export(stack, body)
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == ["VNData.parquet", "meta.json"]


def test_a_zip_of_several_runs_keeps_each_runs_files_apart(stack: Api, run: dict[str, Any],
                                                           other_run: dict[str, Any]) -> None:
    body = {"runs": [run["id"], other_run["id"]], "signals": ["VNData:vn_vel.x"], "format": "parquet", "start": 1,
            "end": 4}
    status, data = _export(stack, body)
    assert status["filename"] == "pitwall-2-runs_VNData_1sig_1-4s.zip"
    members = zipfile.ZipFile(io.BytesIO(data)).namelist()
    folders = {m.split("/")[0] for m in members}
    assert len(members) == len(set(members)) == 4 and len(folders) == 2
    assert sorted(m.split("/", 1)[1] for m in members) == ["VNData.parquet", "VNData.parquet", "meta.json", "meta.json"]
    assert all(f.endswith("_VNData_1sig_1-4s") for f in folders), folders
