"""`pitwall dev up` (what `make up` runs): ready, its first backup holds the sample runs, the CLI
finds it, it stops cleanly and keeps its data. One stack for all of it: each start costs ~20 s."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from testsupport.waiting import wait_for

from pitwall.devstack.ports import free_port

pytestmark = pytest.mark.stack


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
    # No simulated car: its recordings would become runs too, and the backup's count is the samples'.
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("pitwall")), "dev", "up", "--data-dir", str(data_dir), "--port", str(port),
         "--no-car"],
        env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> dict[str, object]:
    def ready() -> dict[str, object] | None:
        assert proc.poll() is None, "dev up exited early"
        try:
            r = httpx.get(f"{url}/readyz", timeout=2)
        except httpx.HTTPError:  # not listening yet
            return None
        return r.json() if r.status_code == 200 else None

    return wait_for(ready, "dev up's /readyz", timeout, every=0.5)


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


def _cli(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`pitwall ARGS` as a new engineer types it in a terminal: no PITWALL_* set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
    return subprocess.run([str(Path(sys.executable).with_name("pitwall")), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str] | None:
    return done if done.returncode == 0 else None


def _cli_uses_the_stack(checkout: Path) -> None:
    """token and backup verbs work verbatim from the checkout and from a folder below it."""
    below = checkout / "notebooks" / "day1"
    below.mkdir(parents=True)
    for cwd in (checkout, below):
        listed = _cli(cwd, "token", "list")
        assert listed.returncode == 0, listed.stderr
        assert "admin" in listed.stdout and "base station (make up)" in listed.stdout
    # The dev stack's base station, as the env file describes it.
    station = wait_for(lambda: _ok(_cli(below, "basestation", "status", "--json")), "basestation status", 60, every=1)
    assert {"files", "totals"} <= set(json.loads(station.stdout))
    asked = _cli(below, "backup", "now")
    assert asked.returncode == 0, asked.stderr
    m = re.search(r"backup (\S+) asked for", asked.stdout)
    assert m, asked.stdout
    backup_id = m[1]
    def listed() -> bool:
        listing = _cli(checkout, "backup", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        return backup_id in {b["id"] for b in json.loads(listing.stdout)}

    wait_for(listed, f"backup {backup_id} listed", 120, every=1)
    verified = _cli(below, "backup", "verify", backup_id)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "0 problem(s)" in verified.stdout


def _first_backup_holds_the_samples(
    data_dir: Path, url: str, token: str, proc: subprocess.Popen[bytes], log: Path,
) -> None:
    """The backup service's catch-up of the schedule's latest slot is made with the samples
    in, not over the empty catalogue of a stack just started; the page's numbers agree."""
    from pymongo import MongoClient

    from pitwall.common.contracts import mongo
    from pitwall.common.settings import Settings
    from pitwall.devstack.samples import SAMPLES

    settings = Settings(_env_file=data_dir / "env")  # type: ignore[call-arg]
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=5000)

    def finished() -> dict[str, Any] | None:
        assert proc.poll() is None, "dev up exited early, waiting for its first backup"
        return client[settings.mongo_db][mongo.BACKUPS].find_one({"status": {"$in": ["completed", "failed"]}})

    try:
        first = wait_for(finished, "the first backup to finish", timeout=420, every=1)
    finally:
        client.close()
    assert first["status"] == "completed", first.get("reason")
    assert not first["_id"].startswith("now-")
    assert first["runs"] == len(SAMPLES), first
    assert "backup starts once the sample runs are in" in log.read_text()
    listed = httpx.get(f"{url}/api/v1/backups", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert listed["coverage"]["catalogue_runs"] == len(SAMPLES)
    assert listed["coverage"]["runs_not_backed_up"] == 0


_SG_UNIT = re.compile(r'^BO_ \d+ (\w+):|^ SG_ (\w+) : [^"]*"([^"]+)"', re.MULTILINE)


def _sample_runs_show_units(data_dir: Path, url: str, token: str, log: Path) -> None:
    """`make up` put synth's CAN description in the catalogue: a sample run's signals carry its
    units, and its state signal the state names (not the protobuf enum's prefixed ones)."""
    from pitwall.devstack.samples import SAMPLES
    from pitwall.synth.can_description import FILENAME
    from pitwall.synth.vehicle import CAR_STATES

    assert f"CAN description {FILENAME} added to the catalogue" in log.read_text()
    # The units the file states, read from its text: (message, signal) -> unit.
    units: dict[tuple[str, str], str] = {}
    message = ""
    for m in _SG_UNIT.finditer((data_dir / "samples" / FILENAME).read_text()):
        if m[1]:
            message = m[1]
        else:
            units[(message, m[2])] = m[3]
    run_id = hashlib.sha256((data_dir / "samples" / SAMPLES[0][0]).read_bytes()).hexdigest()
    auth = {"Authorization": f"Bearer {token}"}

    def described() -> dict[str, dict[str, Any]] | None:
        tree = httpx.get(f"{url}/api/v1/runs/{run_id}/signals", headers=auth, timeout=30).json()
        by_key = {s["key"]: s for t in tree["topics"] for s in t["signals"]}
        # The source is stored by ingest moments after the upload's 202.
        return by_key if by_key["mc1_status_data:speed_rpm"].get("unit") else None

    by_key = wait_for(described, "units on a sample run's signals", timeout=60, every=1)
    assert by_key["mc1_status_data:speed_rpm"]["unit"] == "rpm"
    assert by_key["lf_ttpms_1_data:LF_TTPMS_P"]["unit"] == "kPa"
    checked = 0
    for key, facts in by_key.items():
        topic, _, path = key.partition(":")
        unit = units.get((topic.removesuffix("_data"), path))
        if unit:
            assert facts.get("unit") == unit, (key, facts)
            assert facts["origins"]["unit"].startswith(f"can:{FILENAME}#"), facts["origins"]
            checked += 1
    assert checked == len(units) > 250  # every unit the file states reached the run's signals
    state = by_key["mcu_status_data:mcu_state"]
    assert state["states"] == {str(code): name for code, name in enumerate(CAR_STATES)}
    assert state["states"]["5"] == "READY_TO_DRIVE"
    assert state["origins"]["states"].startswith(f"can:{FILENAME}#")


def _can_description_not_added_again(url: str, token: str, log: Path) -> None:
    from pitwall.synth.can_description import FILENAME

    wait_for(lambda: f"CAN description {FILENAME} is already in the catalogue" in log.read_text(),
             "the second start leaving the CAN description alone", timeout=60, every=0.5)
    listed = httpx.get(f"{url}/api/v1/catalogue/sources", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert [s["name"] for s in listed.json()["items"]].count(FILENAME) == 1


def test_dev_up_ready_stop_clean_and_data_survives(tmp_path: Path) -> None:
    # Where `make up` keeps it: `.pitwall/` in the checkout.
    checkout = tmp_path / "checkout"
    data_dir = checkout / ".pitwall"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "dev-up.log"
    proc = _start(data_dir, port, log)
    try:
        body = _wait_ready(url, proc)
        assert {k: v["status"] for k, v in body["checks"].items()} == {"mongodb": "up", "broker": "up", "s3": "up"}  # type: ignore[attr-defined]
        assert httpx.get(f"{url}/healthz").status_code == 200
        # the admin token printed on first start opens the API
        wait_for(lambda: (data_dir / "admin-token").exists() and "admin token" in log.read_text(),
                 "the admin token printed", timeout=30, every=0.2)
        token = (data_dir / "admin-token").read_text().strip()
        assert token in log.read_text()
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["role"] == "admin"
        assert httpx.get(f"{url}/api/v1/runs").status_code == 401
        _first_backup_holds_the_samples(data_dir, url, token, proc, log)
        _sample_runs_show_units(data_dir, url, token, log)
        _cli_uses_the_stack(checkout)
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
        wait_for(lambda: _ours(data_dir) == [], "every process of the stack gone after Ctrl-C", 10)

        proc = _start(data_dir, port, log)
        _wait_ready(url, proc)
        # the same token still works: not a new one on every start
        assert (data_dir / "admin-token").read_text().strip() == token
        assert httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        _can_description_not_added_again(url, token, log)
        assert pymongo.MongoClient(settings.mongo_url)[settings.mongo_db]["marker"].find_one({"_id": "kept"})
        assert ObjectStore(settings).get_bytes(settings.bucket_exports, "marker") == b"kept"
        _stop(proc, signal.SIGTERM)
        wait_for(lambda: _ours(data_dir) == [], "every process of the stack gone after SIGTERM", 10)
        # The stack is down: one line naming it and how to start it, exit 1, at once.
        t0 = time.monotonic()
        down = _cli(checkout, "token", "list")
        assert down.returncode == 1 and time.monotonic() - t0 < 5
        assert down.stdout == "" and down.stderr.count("\n") == 1, down.stderr
        assert "is not running" in down.stderr and "make up" in down.stderr
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
