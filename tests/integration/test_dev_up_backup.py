"""`make up` on a new data dir: its first automatic backup holds the sample runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from pitwall.devstack.ports import free_port
from pitwall.devstack.samples import SAMPLES

pytestmark = pytest.mark.stack


def _completed_backup(settings: Any, proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=5000)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert proc.poll() is None, "dev up exited early"
            done = client[settings.mongo_db]["backups"].find_one({"status": {"$in": ["completed", "failed"]}})
            if done is not None:
                return done
            time.sleep(1)
        raise AssertionError("no backup finished")
    finally:
        client.close()


def test_the_first_backup_after_dev_up_holds_the_sample_runs(tmp_path: Path) -> None:
    from pitwall.common.settings import Settings

    data_dir = tmp_path / "stack"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "dev-up.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
    # No simulated car: its recordings would become runs too, and the count is the samples'.
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("pitwall")), "dev", "up", "--data-dir", str(data_dir),
         "--port", str(port), "--no-car"],
        env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (data_dir / "env").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "dev up never wrote its settings"
            time.sleep(0.2)
        settings = Settings(_env_file=data_dir / "env")  # type: ignore[call-arg]
        first = _completed_backup(settings, proc, timeout=420)
        assert first["status"] == "completed", first.get("reason")
        # The backup service's catch-up of the schedule's latest slot: the first backup,
        # made with the samples in, not over the empty catalogue of a stack just started.
        assert not first["_id"].startswith("now-")
        assert first["runs"] == len(SAMPLES), first
        assert "backup starts once the sample runs are in" in log.read_text()
        # The page's numbers agree: every run is in that backup.
        token = (data_dir / "admin-token").read_text().strip()
        listed = httpx.get(f"{url}/api/v1/backups", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        assert listed["coverage"]["catalogue_runs"] == len(SAMPLES)
        assert listed["coverage"]["runs_not_backed_up"] == 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        from pitwall.devstack.rabbit import machine_admin
        from pitwall.devstack.supervisor import dev_vhost

        try:
            machine_admin().delete_vhost(dev_vhost(data_dir))
        except Exception as exc:  # a private node is gone with the stack already
            print(f"vhost clean-up: {exc}")
        print(log.read_text()[-4000:])
