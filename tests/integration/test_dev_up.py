"""`pitwall dev up` (what `make up` runs): ready, stops cleanly, keeps its data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from pitwall.devstack.ports import free_port

pytestmark = pytest.mark.stack


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("pitwall")), "dev", "up", "--data-dir", str(data_dir), "--port", str(port), "--no-samples"],
        env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "dev up exited early"
        try:
            r = httpx.get(f"{url}/readyz", timeout=2)
            if r.status_code == 200:
                body: dict[str, object] = r.json()
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("never ready")


def _ours(data_dir: Path) -> list[psutil.Process]:
    """Processes started for this data dir (servers keep their data there; services' env)."""
    found = []
    for p in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            env = p.info["environ"] or {}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if str(data_dir) in cmd or str(data_dir) in env.get("PITWALL_DATA_DIR", ""):
            found.append(p)
    return found


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    proc.send_signal(sig)
    proc.wait(timeout=60)


def test_dev_up_ready_stop_clean_and_data_survives(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "dev-up.log"
    proc = _start(data_dir, port, log)
    try:
        body = _wait_ready(url, proc)
        assert {k: v["status"] for k, v in body["checks"].items()} == {"mongodb": "up", "broker": "up", "s3": "up"}  # type: ignore[attr-defined]
        assert httpx.get(f"{url}/healthz").status_code == 200
        # the admin token printed on first start opens the API
        deadline = time.monotonic() + 30
        while not (data_dir / "admin-token").exists() or "admin token" not in log.read_text():
            assert time.monotonic() < deadline, "no admin token printed"
            time.sleep(0.2)
        token = (data_dir / "admin-token").read_text().strip()
        assert token in log.read_text()
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["role"] == "admin"
        assert httpx.get(f"{url}/api/v1/runs").status_code == 401
        # leave something behind in the stack's MongoDB and S3
        import pymongo

        from pitwall.common.settings import Settings
        from pitwall.common.storage import ObjectStore

        settings = Settings(_env_file=data_dir / "env")  # type: ignore[call-arg]
        pymongo.MongoClient(settings.mongo_url)[settings.mongo_db]["marker"].insert_one({"_id": "kept"})
        store = ObjectStore(settings)
        store.ensure_buckets()  # the services may still be creating them
        store.put_bytes(settings.bucket_exports, "marker", b"kept")
        assert len(_ours(data_dir)) >= 7  # dev up, 2 servers, 5 services
        _stop(proc, signal.SIGINT)  # Ctrl-C
        time.sleep(0.5)
        assert _ours(data_dir) == [], "processes left behind"

        proc = _start(data_dir, port, log)
        _wait_ready(url, proc)
        # the same token still works: not a new one on every start
        assert (data_dir / "admin-token").read_text().strip() == token
        assert httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert pymongo.MongoClient(settings.mongo_url)[settings.mongo_db]["marker"].find_one({"_id": "kept"})
        assert ObjectStore(settings).get_bytes(settings.bucket_exports, "marker") == b"kept"
        _stop(proc, signal.SIGTERM)
        time.sleep(0.5)
        assert _ours(data_dir) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        from pitwall.devstack.rabbit import machine_admin
        from pitwall.devstack.supervisor import dev_vhost

        try:
            machine_admin().delete_vhost(dev_vhost(data_dir))
        except Exception as exc:  # a private node is gone with the stack already
            print(f"vhost clean-up: {exc}")
        print(log.read_text()[-3000:])
