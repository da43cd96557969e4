"""`make up` on a new data dir: its first automatic backup holds the sample runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from testsupport.waiting import wait_for

from pitwall.devstack.ports import free_port
from pitwall.devstack.samples import SAMPLES

pytestmark = pytest.mark.stack


def _alive(proc: subprocess.Popen[bytes], what: str) -> bool:
    """True while dev up runs: a wait on it fails at once, not at its timeout, once it has exited."""
    assert proc.poll() is None, f"dev up exited early, waiting for {what}"
    return True


def _completed_backup(settings: Any, proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=5000)

    def finished() -> dict[str, Any] | None:
        _alive(proc, "a backup")
        return client[settings.mongo_db]["backups"].find_one({"status": {"$in": ["completed", "failed"]}})

    try:
        return wait_for(finished, "a backup to finish", timeout=timeout, every=1)
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
        wait_for(lambda: _alive(proc, "its settings") and (data_dir / "env").exists(), "dev up to write its settings",
                 timeout=120, every=0.2)
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
