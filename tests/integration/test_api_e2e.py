"""The whole path on the real stack: upload a synth file through the API, ingest makes it a
run, find it, plot it, export 3 signals as MAT through the converter service, and the
downloaded file equals what `pitwall convert` makes of the same file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
from helpers.api import Api, start_api
from testsupport.waiting import wait_for

from pitwall.client import Client, PitwallError
from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack

SIGNALS = ["VNData:vn_vel.x", "MCUOutputData:torque_setpoint_nm.FL", "ACU_data:pack_voltage"]


@pytest.fixture(scope="module")
def api(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    # Its own vhost: queues left by other tests' services must not feed this ingest.
    vhost = settings.amqp_url.rsplit("/", 1)[-1] + "-e2e"
    endpoints.rabbit_admin.add_vhost(vhost, endpoints.amqp_user)
    try:
        yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-e2e"), "e2e",
                             amqp_url=endpoints.amqp_url_for(vhost))
    finally:
        endpoints.rabbit_admin.delete_vhost(vhost)


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-synth") / "autocross_priya.mcap"
    subprocess.run([sys.executable, "-m", "pitwall.cli.main", "synth", str(path), "--minutes", "0.25", "--seed", "11"],
                   check=True, capture_output=True, timeout=300)
    return path


def _wait_ready(pw: Client, run_id: str, timeout: float = 120) -> dict[str, Any]:
    def made() -> dict[str, Any] | None:
        try:
            run = pw.run(run_id)
        except PitwallError as exc:  # 404 until ingest made the run; anything else fails
            if exc.status != 404:
                raise
            return None
        return run if run["status"] in ("ready", "recovered", "rejected") else None

    return wait_for(made, "the upload to become a run", timeout=timeout, every=0.3)


def test_upload_find_plot_export(api: Api, synth_file: Path, pitwall_service: Any, tmp_path: Path) -> None:
    from pitwall.common.mcapread import read_recording

    rec = read_recording(str(synth_file))

    with Client(api.base_url, api.tokens["admin"]) as pw:
        # Uploaded while ingest is not running yet (a deploy, a crash): the event waits
        # in ingest's queue, declared by whoever publishes, and becomes a run once it starts.
        accepted = pw.upload(synth_file)
        assert accepted["duplicate"] is False
        pitwall_service("ingest", settings=api.settings)
        pitwall_service("converter", settings=api.settings)
        run = _wait_ready(pw, accepted["id"])
        assert run["status"] == "ready", run.get("reason")
        assert run["start_ns"] == rec.origin_ns and run["message_count"] == rec.message_count
        assert pw.upload(synth_file)["duplicate"] is True

        # Found by what the file says and by what happened in it.
        speed_max = float(rec.topics["VNData"].signals["vn_vel.x"].values.max())
        found = [r["id"] for r in pw.runs(driver=run["setup"]["driver"], has_signal=SIGNALS[0],
                                          where=f"VNData:vn_vel.x.max>={speed_max}")]
        assert found == [run["id"]]

        # Plotted from the signal store: the decoded values, exactly, with the true extremes.
        data = pw.series(run["id"], SIGNALS[0], max_points=200)
        assert data[SIGNALS[0]].decimated and data[SIGNALS[0]].v.max() == speed_max
        full = pw.series(run["id"], SIGNALS[1])[SIGNALS[1]]
        np.testing.assert_array_equal(
            full.v, rec.topics["MCUOutputData"].signals["torque_setpoint_nm.FL"].values.astype(np.float64))

        got = pw.export(run["id"], SIGNALS, start=2.0, end=10.0, format="mat", dest=tmp_path / "api", timeout=120,
                        poll_s=0.2)

    reference = tmp_path / "cli" / got.name
    reference.parent.mkdir()
    subprocess.run(
        [sys.executable, "-m", "pitwall.cli.main", "convert", str(synth_file), "-o", str(reference),
         "--signals", ",".join(SIGNALS), "--start", "2", "--end", "10"],
        check=True, capture_output=True, timeout=300,
    )
    ours, theirs = scipy.io.loadmat(got, squeeze_me=False), scipy.io.loadmat(reference, squeeze_me=False)
    names = sorted(k for k in theirs if not k.startswith("__"))
    assert sorted(k for k in ours if not k.startswith("__")) == names
    assert {"VNData", "MCUOutputData", "ACU_data"} <= set(names)
    for name in names:
        if name == "meta":
            continue  # says where the data came from (a path here, a run there)
        _assert_same(ours[name], theirs[name], name)


def _assert_same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, np.ndarray) and a.dtype.names:
        assert a.dtype.names == b.dtype.names, where
        for field in a.dtype.names:
            _assert_same(a[field][0, 0], b[field][0, 0], f"{where}.{field}")
    elif isinstance(a, np.ndarray) and a.dtype == object:
        assert a.shape == b.shape, where
        for x, y in zip(a.ravel(), b.ravel(), strict=True):
            _assert_same(x, y, where)
    else:
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
