"""Backups on the real stack: runs made by ingest from synth files and the team's own,
backed up, the database and buckets wiped, restored, and compared byte for byte; a
second backup copies only what is new; damage is found; the service makes one backup
per slot; an offsite S3 server holds a backup as well as the local one."""

from __future__ import annotations

import hashlib
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from helpers.api import Api, EventTap
from helpers.with_ingest import start_api_with_ingest
from pymongo import MongoClient
from station_support import synth
from testsupport.services import start_service
from testsupport.waiting import wait_for

from pitwall.client import Client, PitwallError
from pitwall.common.events import BackupCompleted, BackupFailed
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore
from pitwall.devstack.endpoints import settings_env
from pitwall.devstack.services import ServiceProcess

pytestmark = pytest.mark.stack

HYTECH_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "hytech"
KEY = "correct horse battery staple"
RAW = CodecOptions(document_class=RawBSONDocument)
SIGNALS = ["VNData:vn_vel.x", "ACU_data:pack_voltage"]


@dataclass
class Stack:
    api: Api
    ingest: ServiceProcess
    converter: ServiceProcess
    env: dict[str, str]
    files: Path

    @property
    def settings(self) -> Settings:
        return self.api.settings

    def pitwall(self, *args: str, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pitwall.cli.main", *args], env=self.env | (env or {}),
                              capture_output=True, text=True, timeout=timeout)

    def client(self) -> Client:
        return Client(self.api.base_url, self.api.tokens["admin"])


def upload_and_wait(pw: Client, paths: list[Path], timeout: float = 180) -> list[str]:
    ids = [pw.upload(p)["id"] for p in paths]

    def made(run_id: str) -> bool:
        try:
            return pw.run(run_id)["status"] in ("ready", "recovered", "rejected")
        except PitwallError as exc:  # 404 until ingest made the run; anything else fails
            if exc.status != 404:
                raise
            return False

    wait_for(lambda: all(made(run_id) for run_id in ids), f"{len(ids)} uploads to become runs", timeout=timeout,
             every=0.2)
    return ids


@pytest.fixture(scope="module")
def stack(settings: Settings, service_env: dict[str, str], endpoints: Any,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("backup")
    base = settings.model_copy(update={"mongo_db": settings.mongo_db + "_bk",
                                       "bucket_prefix": settings.bucket_prefix + "bk-"})
    for api, ingest in start_api_with_ingest(base, service_env, endpoints, work, "backup"):
        env = dict(service_env) | settings_env(api.settings) | {"PITWALL_BACKUP_PASSWORD": KEY}
        converter = start_service("converter", env, work / "converter.log")
        s = Stack(api, ingest, converter, env, work / "files")
        files = [synth(s.files / f"endurance_{seed}.mcap", 6, seed) for seed in (1, 2, 3)]
        cut = s.files / "switched_off.mcap"
        cut.write_bytes(files[0].read_bytes()[: 2_000_000])  # no footer: a recovered run
        files.append(cut)
        if HYTECH_DIR.is_dir():
            files += sorted(HYTECH_DIR.glob("*.mcap"))
        with s.client() as pw:
            ids = upload_and_wait(pw, files)
            pw.update_run(ids[0], setup={"driver": "Priya"}, notes="backed up")
            # Ingest writes the run, then its list summary: wait for the list too (the tests compare lists).
            wait_for(lambda rid=ids[0]: pw.run(rid)["notes"] == "backed up"
                       and any(r["id"] == rid and r["notes"] == "backed up" for r in pw.runs()),
                       what="the edit applied", timeout=30)
        try:
            yield s
        finally:
            converter.stop()
            for bucket in api.settings.buckets:
                ObjectStore(api.settings).delete_bucket_recursive(bucket)


# -- what the tests compare -----------------------------------------------------------------

def raw_catalogue(settings: Settings) -> dict[str, list[bytes]]:
    client: MongoClient[Any] = MongoClient(settings.mongo_url)
    try:
        db = client[settings.mongo_db]
        return {name: [d.raw for d in db.get_collection(name, codec_options=RAW).find({}, sort=[("_id", 1)])]
                for name in sorted(db.list_collection_names()) if not name.startswith("system.")}
    finally:
        client.close()


def object_hashes(settings: Settings, bucket: str) -> dict[str, str]:
    store = ObjectStore(settings)
    out: dict[str, str] = {}
    if not store.client.bucket_exists(bucket):
        return out
    for o in store.client.list_objects(bucket, recursive=True):
        assert o.object_name
        out[o.object_name] = hashlib.sha256(b"".join(store.iter_object(bucket, o.object_name))).hexdigest()
    return out


def wipe(settings: Settings) -> None:
    client: MongoClient[Any] = MongoClient(settings.mongo_url)
    try:
        client.drop_database(settings.mongo_db)
    finally:
        client.close()
    store = ObjectStore(settings)
    for bucket in (settings.bucket_mcap, settings.bucket_signals, settings.bucket_exports):
        for o in list(store.client.list_objects(bucket, recursive=True)):
            assert o.object_name
            store.client.remove_object(bucket, o.object_name)


def backups(stack: Stack, *target: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    done = stack.pitwall("backup", "list", "--json", *target, env=env)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def export_bytes(pw: Client, run_id: str, dest: Path) -> bytes:
    got = pw.export(run_id, SIGNALS, start=1.0, end=4.0, format="csv", dest=dest, timeout=120, poll_s=0.2)
    return Path(got).read_bytes()


# -- the tests ---------------------------------------------------------------------------------

def test_wipe_and_restore_gives_back_every_document_object_and_export(stack: Stack, tmp_path: Path) -> None:
    s = stack.settings
    with stack.client() as pw:
        listed = list(pw.runs())
        run_id = next(r["id"] for r in listed if r["status"] == "ready")
        exported = export_bytes(pw, run_id, tmp_path / "before")
    assert len(listed) >= 4

    made = stack.pitwall("backup", "now", "--here")
    assert made.returncode == 0, made.stderr
    assert "backup now-" in made.stdout
    [b] = backups(stack)
    documents, objects = raw_catalogue(s), object_hashes(s, s.bucket_mcap)
    assert b["runs"] == len(documents["runs"]) and len(b["objects"]) == len(objects)
    assert b["objects_copied"] == len(objects)  # the first backup copies everything

    # Restoring over the live catalogue is refused, and says what it would overwrite.
    refused = stack.pitwall("backup", "restore", b["id"])
    assert refused.returncode == 1
    assert f"collection {s.mongo_db}.runs: {len(documents['runs'])} documents" in refused.stderr
    assert f"bucket {s.bucket_mcap}: {len(objects)} objects" in refused.stderr

    # The deployment is lost (services stopped first, as an operator would).
    stack.ingest.stop()
    stack.converter.stop()
    wipe(s)
    assert object_hashes(s, s.bucket_mcap) == {} and raw_catalogue(s) == {}

    restored = stack.pitwall("backup", "restore", b["id"])
    assert restored.returncode == 0, restored.stderr
    assert f"{sum(map(len, documents.values()))} documents, {len(objects)} objects" in restored.stdout
    after = raw_catalogue(s)
    assert after.keys() == documents.keys()
    assert documents and objects, "the backup held nothing to compare"
    for name in documents:
        assert after[name] == documents[name], f"{name}: restored documents differ"
    assert object_hashes(s, s.bucket_mcap) == objects
    for key, sha in objects.items():
        assert key == f"mcap/{sha}.mcap"  # and each is the content its key names

    stack.ingest.restart().wait_for_log('"ready"', timeout=60)
    stack.converter.restart().wait_for_log('"ready"', timeout=60)
    with stack.client() as pw:
        again = list(pw.runs())
        assert [r["id"] for r in again] == [r["id"] for r in listed]
        for a, b in zip(again, listed, strict=True):
            assert a == b, {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
        # The exports bucket is a cache and was not backed up: the export is made again, the same bytes.
        assert export_bytes(pw, run_id, tmp_path / "after") == exported


def test_a_second_backup_copies_only_the_new_run(stack: Stack) -> None:
    before = backups(stack)
    newest = synth(stack.files / "late_session.mcap", 6, 77)
    with stack.client() as pw:
        upload_and_wait(pw, [newest])
    made = stack.pitwall("backup", "now", "--here")
    assert made.returncode == 0, made.stderr
    after = backups(stack)
    assert len(after) == len(before) + 1
    b = after[-1]
    sha = hashlib.sha256(newest.read_bytes()).hexdigest()
    assert b["objects_copied"] == 1 and b["bytes_copied"] == newest.stat().st_size
    assert set(b["objects"]) - set(before[-1]["objects"]) == {f"mcap/{sha}.mcap"}
    listed = stack.pitwall("backup", "list")
    assert b["id"] in listed.stdout and "complete" in listed.stdout


def test_damage_is_found_and_restore_refuses_before_writing(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "usb-backup"
    target = ["--target", f"file://{folder}"]
    made = stack.pitwall("backup", "now", "--here", *target)
    assert made.returncode == 0, made.stderr
    [b] = backups(stack, *target)
    ok = stack.pitwall("backup", "verify", b["id"], *target)
    assert ok.returncode == 0 and "0 problem(s)" in ok.stdout, ok.stdout + ok.stderr

    fresh = stack.settings.model_copy(update={"mongo_db": stack.settings.mongo_db + "_fresh",
                                              "bucket_prefix": stack.settings.bucket_prefix + "fresh-"})
    elsewhere = {"PITWALL_BUCKET_PREFIX": fresh.bucket_prefix}
    server = urlparse(fresh.mongo_url)
    into = ["--into", f"mongodb://{server.netloc}/{fresh.mongo_db}?{server.query}"]

    # A wrong key: one line, non-zero, nothing written.
    wrong = stack.pitwall("backup", "verify", b["id"], *target, env={"PITWALL_BACKUP_PASSWORD": "not the key"})
    assert wrong.returncode != 0
    assert wrong.stderr.strip().count("\n") == 0 and "does not open this backup" in wrong.stderr

    # One MCAP object flipped by a byte.
    victim = sorted(b["objects"])[0]
    path = folder / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    found = stack.pitwall("backup", "verify", b["id"], *target)
    assert found.returncode == 1
    assert f"DAMAGED  object {victim}: damaged" in found.stdout
    refused = stack.pitwall("backup", "restore", b["id"], *target, *into, env=elsewhere)
    assert refused.returncode == 1 and "nothing restored" in refused.stderr and victim in refused.stderr
    assert raw_catalogue(fresh) == {} and object_hashes(fresh, fresh.bucket_mcap) == {}
    path.write_bytes(bytes(data[: len(data) // 2]))  # and then cut short: still named

    # A damaged dump (a restic pack cut short).
    packs = sorted((folder / "restic" / "data").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)
    pack = packs[-1]
    pack.write_bytes(pack.read_bytes()[: pack.stat().st_size // 2])
    found = stack.pitwall("backup", "verify", b["id"], *target)
    assert found.returncode == 1
    assert "catalogue dump" in found.stdout and victim in found.stdout
    refused = stack.pitwall("backup", "restore", b["id"], *target, *into, env=elsewhere)
    assert refused.returncode == 1 and "nothing restored" in refused.stderr
    assert raw_catalogue(fresh) == {} and object_hashes(fresh, fresh.bucket_mcap) == {}


def test_partial_restore_brings_back_what_is_intact_and_lists_the_rest(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "partial"
    target = ["--target", f"file://{folder}"]
    assert stack.pitwall("backup", "now", "--here", *target).returncode == 0
    [b] = backups(stack, *target)
    victim = sorted(b["objects"])[-1]
    (folder / victim).unlink()
    scratch = stack.settings.model_copy(update={"mongo_db": stack.settings.mongo_db + "_partial",
                                                "bucket_prefix": stack.settings.bucket_prefix + "partial-"})
    env = {"PITWALL_MONGO_DB": scratch.mongo_db, "PITWALL_BUCKET_PREFIX": scratch.bucket_prefix}
    try:
        done = stack.pitwall("backup", "restore", b["id"], *target, "--partial", env=env)
        assert done.returncode == 1  # not everything came back, and it says so
        assert f"NOT RESTORED  {victim}" in done.stdout
        restored = object_hashes(scratch, scratch.bucket_mcap)
        assert set(restored) == set(b["objects"]) - {victim}
        assert len(raw_catalogue(scratch)["runs"]) == b["runs"]
    finally:
        for bucket in scratch.buckets:
            ObjectStore(scratch).delete_bucket_recursive(bucket)


def test_a_backup_taken_during_12_uploads_restores_to_a_consistent_catalogue(stack: Stack, tmp_path: Path) -> None:
    from pitwall.backupkit.core import restore, run_backup
    from pitwall.backupkit.target import open_target

    with ThreadPoolExecutor(4) as pool:
        files = list(pool.map(lambda i: synth(tmp_path / f"burst_{i}.mcap", 1, 1000 + i), range(12)))
    s = stack.settings.model_copy(update={"backup_password": KEY})
    target = open_target(s, f"file://{tmp_path / 'during'}")
    result: dict[str, Any] = {}

    def upload_all() -> None:
        with stack.client() as pw:
            result["ids"] = upload_and_wait(pw, files)

    uploader = threading.Thread(target=upload_all)
    uploader.start()
    wait_for(lambda: len(raw_catalogue(s).get("runs", [])) >= 4, what="some of the burst ingested", timeout=120)
    manifest = run_backup(s, target, "during-burst")
    uploader.join()
    assert "ids" in result

    scratch = s.model_copy(update={"mongo_db": s.mongo_db + "_burst", "bucket_prefix": s.bucket_prefix + "burst-"})
    try:
        restore(scratch, target, "during-burst")
        docs = raw_catalogue(scratch)
        assert manifest.collections, "the manifest lists no collection"
        for name, c in manifest.collections.items():
            assert len(docs.get(name, [])) == c.count, name
        objects = object_hashes(scratch, scratch.bucket_mcap)
        client: MongoClient[Any] = MongoClient(scratch.mongo_url)
        try:
            runs = list(client[scratch.mongo_db]["runs"].find({}, {"sha256": 1, "status": 1}))
            with_stats = set(client[scratch.mongo_db]["signals"].distinct("run_id"))
        finally:
            client.close()
        assert 4 <= len(runs) < len(raw_catalogue(s)["runs"]) + 1
        for run in runs:
            if run["status"] != "rejected":
                assert objects.get(f"mcap/{run['sha256']}.mcap") == run["sha256"], f"run {run['_id']} without its file"
                assert run["_id"] in with_stats, f"run {run['_id']} without its signal statistics"
        assert with_stats <= {r["_id"] for r in runs}  # and no statistics of a run the dump does not hold
    finally:
        for bucket in scratch.buckets:
            ObjectStore(scratch).delete_bucket_recursive(bucket)
        client = MongoClient(scratch.mongo_url)
        client.drop_database(scratch.mongo_db)
        client.close()


def test_two_backup_services_make_one_backup_per_slot_and_drill_it(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "service-target"
    env = stack.env | {"PITWALL_BACKUP_SCHEDULE": "0 0 1 1 *", "PITWALL_BACKUP_TARGET": f"file://{folder}"}
    with stack.api.client("admin") as c:
        ready = c.get("/readyz").json()
    assert ready["status"] == "ready" and ready["backup"] == "stale"  # never backed up: said, and not a 503
    assert ready["backup_detail"]["reason"] == "no completed backup yet"
    tap = EventTap(stack.settings, "backup.completed", "backup.failed")
    # Both started before either is ready: they race for the slot's claim.
    procs = [start_service("backup", env, tmp_path / f"backup-{i}.log", wait=False) for i in (1, 2)]
    try:
        done = tap.get(timeout=180)
        assert isinstance(done, BackupCompleted), done
        assert done.drill == "passed" and (done.drill_seconds or 0) > 0
        assert done.runs >= 4 and done.objects >= 4 and done.bytes > 0
        for p in procs:
            p.wait_for_log("backup due", timeout=30)
        wait_for(lambda: sum("already made or being made" in p.log() for p in procs) >= 1,
                   what="the second service to see the claim", timeout=60)
        with pytest.raises(queue.Empty):
            tap.get(timeout=3)  # and no second backup
        listed = backups(stack, "--target", f"file://{folder}")
        assert [b["id"] for b in listed] == [done.backup_id]
        assert listed[0]["drill"] == "passed" and listed[0]["status"] == "complete, drill passed"
        shown = stack.pitwall("backup", "list", "--target", f"file://{folder}").stdout
        assert "complete, drill passed" in shown
        record = stack.api.db["backups"].find_one({"_id": done.backup_id})
        assert record["status"] == "completed" and record["drill"] == "passed"
        # The admin page's list and /readyz say the same.
        with stack.api.client("admin") as c:
            listed_api = c.get("/api/v1/backups").json()
            ready = c.get("/readyz").json()
        with stack.api.client("viewer") as c:
            assert c.get("/api/v1/backups").status_code == 403
        assert [b["id"] for b in listed_api["backups"]] == [done.backup_id]
        assert listed_api["backups"][0]["drill"] == "passed" and listed_api["backups"][0]["objects_copied"] >= 0
        assert listed_api["verdict"]["status"] == "ok" and listed_api["verdict"]["latest_good"] == done.backup_id
        assert listed_api["verdict"]["interval_s"] == 365 * 86400  # the schedule's: once a year
        assert ready["backup"] == "ok"
        # The drill cleaned up after itself.
        client: MongoClient[Any] = MongoClient(stack.settings.mongo_url)
        try:
            assert not [n for n in client.list_database_names() if "_drill_" in n]
        finally:
            client.close()
    finally:
        for p in procs:
            p.stop()
        tap.close()


def test_backup_to_a_second_s3_server_offsite(stack: Stack, tmp_path: Path) -> None:
    from pitwall.devstack.s3 import SecondS3

    with SecondS3(tmp_path / "offsite") as offsite:
        target = ["--target", f"s3+http://{offsite.endpoint}/team-offsite/pitwall"]
        keys = {"PITWALL_BACKUP_S3_ACCESS_KEY": offsite.access_key, "PITWALL_BACKUP_S3_SECRET_KEY": offsite.secret_key}
        made = stack.pitwall("backup", "now", "--here", *target, env=keys)
        assert made.returncode == 0, made.stderr
        [b] = backups(stack, *target, env=keys)
        # The offsite server holds the objects themselves, each the content its key names.
        client = offsite.client()
        listed = client.list_objects("team-offsite", prefix="pitwall/mcap/", recursive=True)
        stored = {o.object_name.removeprefix("pitwall/") for o in listed if o.object_name}
        assert stored == set(b["objects"])
        # The catalogue there is encrypted: no document's text is readable in the restic repository.
        driver = b"Priya"
        packs = list(client.list_objects("team-offsite", prefix="pitwall/restic/", recursive=True))
        assert packs, "no restic repository offsite"
        for o in packs:
            assert o.object_name
            resp = client.get_object("team-offsite", o.object_name)
            try:
                assert driver not in resp.read()
            finally:
                resp.close()
                resp.release_conn()
        verified = stack.pitwall("backup", "verify", b["id"], *target, env=keys)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        # Wrong offsite credentials: a clear error, not a traceback.
        bad = stack.pitwall("backup", "list", *target, env={**keys, "PITWALL_BACKUP_S3_SECRET_KEY": "nope"})
        assert bad.returncode != 0 and "Traceback" not in bad.stderr and "pitwall backup: error" in bad.stderr


def test_an_unreachable_target_fails_clearly_lists_nothing_and_the_slot_is_retried(
        stack: Stack, tmp_path: Path) -> None:
    keys = {"PITWALL_BACKUP_S3_ACCESS_KEY": "offsite", "PITWALL_BACKUP_S3_SECRET_KEY": "offsite-secret"}
    down = "s3+http://127.0.0.1:9/team-offsite/pitwall"
    # By hand: one line, exit 1.
    made = stack.pitwall("backup", "now", "--here", "--target", down, env=keys)
    assert made.returncode == 1 and "Traceback" not in made.stderr and "unreachable" in made.stderr, made.stderr
    # The service: backup.failed with the reason, the record says failed, nothing listed as good.
    slot = "0 0 1 7 *"  # a slot no other test uses (1 July, yearly)
    env = stack.env | keys | {"PITWALL_BACKUP_SCHEDULE": slot, "PITWALL_BACKUP_TARGET": down,
                              "PITWALL_BACKUP_DRILL": "false"}
    tap = EventTap(stack.settings, "backup.completed", "backup.failed")
    try:
        proc = start_service("backup", env, tmp_path / "backup-down.log", wait=False)  # the tap waits
        try:
            failed = tap.get(timeout=120)
        finally:
            proc.stop()
        assert isinstance(failed, BackupFailed), failed
        assert "unreachable" in failed.reason
        record = stack.api.db["backups"].find_one({"_id": failed.backup_id})
        assert record["status"] == "failed" and "unreachable" in record["reason"]
        # The target is back (here: another one): the same slot is made on the next delivery.
        folder = tmp_path / "back"
        proc = start_service("backup", env | {"PITWALL_BACKUP_TARGET": f"file://{folder}"},
                             tmp_path / "backup-back.log", wait=False)
        try:
            done = tap.get(timeout=120)
        finally:
            proc.stop()
        assert isinstance(done, BackupCompleted) and done.backup_id == failed.backup_id
        assert [b["id"] for b in backups(stack, "--target", f"file://{folder}")] == [failed.backup_id]
        assert stack.api.db["backups"].find_one({"_id": failed.backup_id})["status"] == "completed"
    finally:
        tap.close()


def _until_done(tap: EventTap, backup_id: str, timeout: float = 180) -> BackupCompleted:
    deadline = time.monotonic() + timeout
    while True:
        event = tap.get(timeout=max(0.1, deadline - time.monotonic()))
        if getattr(event, "backup_id", None) == backup_id:
            assert isinstance(event, BackupCompleted), event
            return event


def _live_runs(stack: Stack) -> int:
    return int(stack.api.db["runs"].count_documents({"deleted": False}))


def test_the_page_api_counts_runs_no_backup_holds_and_backs_up_now(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "now-target"
    env = stack.env | {"PITWALL_BACKUP_SCHEDULE": "0 0 1 10 *",  # a slot no other test uses (1 October)
                       "PITWALL_BACKUP_TARGET": f"file://{folder}", "PITWALL_BACKUP_DRILL": "false"}
    # Only admins may ask; a body that is not the request's is refused, naming the field.
    with stack.api.client("editor") as c:
        assert c.post("/api/v1/backups").status_code == 403
    with stack.api.client("admin") as c:
        bad = c.post("/api/v1/backups", json={"with_signals": "sometimes"})
        assert bad.status_code == 422 and "with_signals" in bad.text
        assert c.post("/api/v1/backups", json={"signals": True}).status_code == 422
    tap = EventTap(stack.settings, "backup.completed", "backup.failed")
    proc = start_service("backup", env, tmp_path / "backup-now.log", wait=False)
    try:
        proc.wait_for_log("backup due", timeout=60)
        tap.get(timeout=180)  # the slot made up at start; the button's backups come after it
        with stack.api.client("admin") as c:
            asked = c.post("/api/v1/backups")
            assert asked.status_code == 202, asked.text
            first = asked.json()
            assert first["status"] == "pending" and first["id"].startswith("now-")
            done = _until_done(tap, first["id"])
            listed = c.get("/api/v1/backups").json()
            cov = listed["coverage"]
            assert listed["backups"][0]["id"] == first["id"] and listed["backups"][0]["status"] == "completed"
            assert cov["latest_good"] == first["id"] and cov["backup_runs"] == done.runs
            assert cov["catalogue_runs"] == _live_runs(stack) >= 4
            assert cov["runs_not_backed_up"] == 0

            # A run after the backup: the page's numbers say one run is in no backup.
            with stack.client() as pw:
                upload_and_wait(pw, [synth(stack.files / "after_the_backup.mcap", 6, 4242)])
            cov = c.get("/api/v1/backups").json()["coverage"]
            assert cov["latest_good"] == first["id"] and cov["backup_runs"] == done.runs
            assert cov["catalogue_runs"] == _live_runs(stack) and cov["runs_not_backed_up"] == 1

            # Backed up now: it holds that run too, and nothing is left out.
            second = c.post("/api/v1/backups", json={"with_signals": False}).json()
            assert second["id"] != first["id"]
            again = _until_done(tap, second["id"])
            cov = c.get("/api/v1/backups").json()["coverage"]
            assert cov["latest_good"] == second["id"] and cov["runs_not_backed_up"] == 0
            assert again.runs == done.runs + 1 and cov["backup_runs"] == again.runs
        # `pitwall backup list --json` says each backup's status as the text listing does.
        listed_json = {b["id"]: b["status"] for b in backups(stack, "--target", f"file://{folder}")}
        assert listed_json[second["id"]] == "complete, no drill"
        text = stack.pitwall("backup", "list", "--target", f"file://{folder}").stdout
        for bid, status in listed_json.items():
            line = next(ln for ln in text.splitlines() if ln.startswith(bid))
            assert line.endswith(f"  {status}")
    finally:
        proc.stop()
        tap.close()
