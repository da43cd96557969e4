"""Backup, verify, restore, prune: plain functions the service, the CLI and the tests share."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pymongo import MongoClient

from pitwall.backupkit.dump import RAW, dump_database, file_sha, read_dump
from pitwall.backupkit.manifest import MANIFESTS, Manifest
from pitwall.backupkit.restic import Restic
from pitwall.backupkit.target import (
    ChunkReader,
    Target,
    TargetError,
    copy_object,
    object_sha,
    sha256_of,
)
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore, mcap_key

VERSION = "0.1.0"
Progress = Callable[[str, int, int], None]  # (what, done, total)


def _quiet(_what: str, _done: int, _total: int) -> None:
    return None


class BackupError(RuntimeError):
    pass


# Objects in flight at once: S3 round trips and hashing overlap (hashlib and sockets
# release the GIL); more buys nothing on a small server.
PARALLEL = 4
T = TypeVar("T")


def parallel(keys: list[str], work: Callable[[str], T], progress: Progress, what: str) -> list[T]:
    """`work` on every key, PARALLEL at a time; results in key order; the first error
    stops the rest and is raised."""
    results: dict[str, T] = {}
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = {pool.submit(work, k): k for k in keys}
        try:
            for done, fut in enumerate(as_completed(futures), 1):
                results[futures[fut]] = fut.result()
                progress(what, done, len(keys))
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return [results[k] for k in keys]


def restic_for(settings: Settings, target: Target) -> Restic:
    return Restic(target.restic_repo, settings.backup_password, target.restic_env)


def mongo(settings: Settings) -> MongoClient[Any]:
    return MongoClient(settings.mongo_url, serverSelectionTimeoutMS=10_000, tz_aware=True)


# -- backup ----------------------------------------------------------------------------------

def run_backup(settings: Settings, target: Target, backup_id: str, *, with_signals: bool = False,
               progress: Progress = _quiet) -> Manifest:
    started = time.monotonic()
    restic = restic_for(settings, target)
    target.area.ensure()
    restic.ensure()
    store = ObjectStore(settings)
    work = Path(tempfile.mkdtemp(prefix=f"pitwall-backup-{backup_id}-"))
    try:
        client = mongo(settings)
        try:
            collections, runs = dump_database(client, settings.mongo_db, work / "dump")
        finally:
            client.close()
        # Objects of exactly the dumped runs (they are in S3 before their run exists).
        wanted: dict[str, tuple[str, str, int]] = {}  # target key -> (bucket, source key, size)
        for run in runs:
            sha = run.get("sha256")
            # A rejected file's bytes are kept too (for a later fix), when they were stored.
            rejected = run.get("status") == "rejected"
            if not sha or (rejected and not store.exists(settings.bucket_mcap, mcap_key(sha))):
                continue
            wanted[mcap_key(sha)] = (settings.bucket_mcap, run.get("object_key") or mcap_key(sha),
                                     int(run.get("size") or 0))
        if with_signals:
            for o in store.client.list_objects(settings.bucket_signals, recursive=True):
                if o.object_name:
                    wanted[f"signals/{o.object_name}"] = (settings.bucket_signals, o.object_name, int(o.size or 0))
        have = target.area.keys("mcap/") | (target.area.keys("signals/") if with_signals else {})
        missing = [k for k in wanted if have.get(k) != wanted[k][2] or not wanted[k][2]]

        def copy_one(key: str) -> None:
            bucket, source_key, size = wanted[key]
            copy_object(target, key, store, bucket, source_key, size)
            if key.startswith("mcap/"):
                sha, _n = object_sha(target, key)
                if sha != key[len("mcap/"):-len(".mcap")]:
                    target.area.remove(key)
                    raise BackupError(f"the copy of {key} does not match its hash ({sha[:12]}…): "
                                      "removed, backup failed")

        parallel(sorted(missing), copy_one, progress, "objects")
        copied_bytes = sum(wanted[k][2] for k in missing)
        objects = {k: wanted[k][2] for k in wanted}
        snapshot = restic.backup(work / "dump", ["pitwall", f"backup:{backup_id}"])
        manifest = Manifest(
            id=backup_id, created_at=datetime.now(UTC).isoformat(timespec="seconds"), version=VERSION,
            database=settings.mongo_db, snapshot=snapshot, collections=collections, objects=objects,
            runs=len(runs), with_signals=with_signals, seconds=round(time.monotonic() - started, 3),
            objects_copied=len(missing), bytes_copied=copied_bytes,
        )
        target.area.write_bytes(manifest.key, manifest.to_json())  # last: now it is a good backup
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- list ------------------------------------------------------------------------------------

def list_backups(target: Target) -> list[Manifest]:
    out = []
    for key in sorted(target.area.keys(MANIFESTS)):
        try:
            out.append(Manifest.from_json(b"".join(target.area.read(key))))
        except (TargetError, ValueError, KeyError, TypeError):
            continue  # not a manifest this version can read: not listed as good
    return sorted(out, key=lambda m: m.created_at)


DRILLS = "drills/"


def record_drill(target: Target, backup_id: str, verdict: str, seconds: float) -> None:
    """Beside the manifest (which is never rewritten): what the restore drill found."""
    doc = {"backup_id": backup_id, "verdict": verdict, "seconds": round(seconds, 3),
           "at": datetime.now(UTC).isoformat(timespec="seconds")}
    target.area.write_bytes(f"{DRILLS}{backup_id}.json", json.dumps(doc).encode())


def drill_verdicts(target: Target) -> dict[str, str]:
    out = {}
    for key in target.area.keys(DRILLS):
        try:
            doc = json.loads(b"".join(target.area.read(key)))
            out[str(doc["backup_id"])] = str(doc["verdict"])
        except (TargetError, ValueError, KeyError, TypeError):
            continue
    return out


def load_manifest(target: Target, backup_id: str) -> Manifest:
    try:
        return Manifest.from_json(b"".join(target.area.read(f"{MANIFESTS}{backup_id}.json")))
    except TargetError:
        raise BackupError(f"no backup {backup_id!r} at {target.describe()} (see `pitwall backup list`)") from None


# -- verify ----------------------------------------------------------------------------------

@dataclass
class Problems:
    items: list[str] = field(default_factory=list)
    checked_objects: int = 0
    checked_documents: int = 0
    checked_keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.items


RESTIC_CONTENT = ("data/", "index/", "snapshots/")


def _damaged_restic_files(target: Target) -> list[str]:
    """restic names each pack, index and snapshot file by the SHA-256 of its bytes, so a
    damaged one is found by hashing it: in seconds, where restic itself retries a bad
    read for most of a minute before it gives up."""
    area, base = target.area, "restic/"
    bad = []
    for sub in RESTIC_CONTENT:
        for key in sorted(area.keys(base + sub)):
            sha, _n = sha256_of(area.read(key))
            if sha != key.rsplit("/", 1)[-1]:
                bad.append(key)
    return bad


def _restore_dump(target: Target, restic: Restic, manifest: Manifest, into: Path, problems: Problems) -> Path | None:
    restic.run("cat", "config")  # the key opens the repository, or WrongKey: before any other verdict
    if bad := _damaged_restic_files(target):
        problems.items.append(f"catalogue dump (restic snapshot {manifest.snapshot[:8]}): {len(bad)} damaged "
                              f"restic file(s): {', '.join(bad[:5])}")
        return None
    try:
        restic.restore(manifest.snapshot, into)
    except Exception as exc:
        problems.items.append(f"catalogue dump (restic snapshot {manifest.snapshot[:8]}) unreadable: {exc}")
        return None
    folder = into
    for name, c in manifest.collections.items():
        path = folder / f"{name}.bson"
        if not path.exists():
            problems.items.append(f"dump of {name}: missing")
            continue
        sha, n = file_sha(path)
        if sha != c.sha256 or n != c.bytes:
            problems.items.append(f"dump of {name}: {n} bytes, sha256 {sha[:12]}…, manifest says {c.bytes} bytes, "
                                  f"{c.sha256[:12]}… (truncated or damaged)")
        problems.checked_documents += c.count
    return folder


def _check_objects(target: Target, manifest: Manifest, sample: float, problems: Problems, progress: Progress) -> None:
    import random

    keys = sorted(manifest.objects)
    if sample < 1.0:
        keys = sorted(random.sample(keys, max(1, round(len(keys) * sample)))) if keys else []
    present = target.area.keys("mcap/") | (target.area.keys("signals/") if manifest.with_signals else {})

    def check_one(key: str) -> str | None:
        size = manifest.objects[key]
        if key not in present:
            return f"object {key}: missing from the backup"
        if key.startswith("mcap/"):
            sha, n = object_sha(target, key)
            if sha != key[len("mcap/"):-len(".mcap")] or n != size:
                return f"object {key}: damaged (sha256 {sha[:12]}…, {n} bytes)"
        elif present[key] != size:
            return f"object {key}: {present[key]} bytes, manifest says {size}"
        return None

    found = parallel(keys, check_one, progress, "verify objects")
    problems.items += [p for p in found if p]
    problems.checked_objects += len(keys)
    problems.checked_keys += keys


def verify(settings: Settings, target: Target, backup_id: str, sample: float = 1.0,
           progress: Progress = _quiet) -> Problems:
    manifest = load_manifest(target, backup_id)
    problems = Problems()
    with tempfile.TemporaryDirectory(prefix="pitwall-verify-") as tmp:
        _restore_dump(target, restic_for(settings, target), manifest, Path(tmp), problems)
    _check_objects(target, manifest, sample, problems, progress)
    return problems


# -- restore ---------------------------------------------------------------------------------

@dataclass
class RestoreReport:
    documents: int
    objects: int
    skipped_objects: list[str]
    seconds: float


def occupied(settings: Settings) -> list[str]:
    """What a restore into these settings would overwrite (empty: safe)."""
    found = []
    client = mongo(settings)
    try:
        db = client[settings.mongo_db]
        for name in db.list_collection_names():
            if not name.startswith("system.") and (n := db[name].estimated_document_count()):
                found.append(f"collection {settings.mongo_db}.{name}: {n} documents")
    finally:
        client.close()
    store = ObjectStore(settings)
    for bucket in (settings.bucket_mcap, settings.bucket_signals):
        if store.client.bucket_exists(bucket):
            n = sum(1 for _ in store.client.list_objects(bucket, recursive=True))
            if n:
                found.append(f"bucket {bucket}: {n} objects")
    return found


def restore(settings: Settings, target: Target, backup_id: str, *, force: bool = False, partial: bool = False,
            sample: float = 1.0, progress: Progress = _quiet) -> RestoreReport:
    """Into an empty database and buckets (`force`: overwrite). Every part is checked
    before anything is written; `partial` restores what is intact and lists the rest;
    `sample` < 1 restores that fraction of the objects (the drill's budget)."""
    started = time.monotonic()
    manifest = load_manifest(target, backup_id)
    if not force and (busy := occupied(settings)):
        raise BackupError("the restore target is not empty (--force overwrites): " + "; ".join(busy))
    problems = Problems()
    with tempfile.TemporaryDirectory(prefix="pitwall-restore-") as tmp:
        folder = _restore_dump(target, restic_for(settings, target), manifest, Path(tmp), problems)
        if folder is None or problems.items:
            raise BackupError("nothing restored, the catalogue dump is damaged: " + "; ".join(problems.items))
        _check_objects(target, manifest, sample, problems, progress)
        bad = [p.split(":", 1)[0].removeprefix("object ") for p in problems.items]
        if bad and not partial:
            raise BackupError(f"nothing restored, {len(bad)} object(s) damaged or missing (--partial restores the "
                              "rest and lists these): " + "; ".join(problems.items[:10]))
        store = ObjectStore(settings)
        store.ensure_buckets()
        keys = [k for k in problems.checked_keys if k not in bad]  # all of them unless sampled

        def put_one(key: str) -> None:
            bucket, dest = ((settings.bucket_mcap, key) if key.startswith("mcap/")
                            else (settings.bucket_signals, key.removeprefix("signals/")))
            size = manifest.objects[key]
            store.client.put_object(bucket, dest, ChunkReader.file(target.area.read(key)), size, part_size=16 << 20)

        parallel(keys, put_one, progress, "restore objects")
        client = mongo(settings)
        documents = 0
        try:
            db = client[settings.mongo_db]
            for name in manifest.collections:
                coll = db.get_collection(name, codec_options=RAW)
                if force:
                    coll.drop()
                docs = read_dump(folder, name)
                for i in range(0, len(docs), 500):
                    coll.insert_many(docs[i : i + 500], ordered=True)
                documents += len(docs)
                for ix in manifest.collections[name].indexes:
                    spec = dict(ix)
                    keys_spec = [(k, v) for k, v in spec.pop("key")]
                    db[name].create_index(keys_spec, **spec)
        finally:
            client.close()
    return RestoreReport(documents, len(keys), bad, round(time.monotonic() - started, 3))


# -- retention -------------------------------------------------------------------------------

def keep_set(created: dict[str, datetime], daily: int, weekly: int, monthly: int) -> set[str]:
    """Backups kept: the newest of each of the last `daily` days, `weekly` ISO weeks and
    `monthly` months that have one (restic's --keep-daily/weekly/monthly)."""
    kept: set[str] = set()
    newest_first = sorted(created, key=lambda b: created[b], reverse=True)
    for count, bucket in ((daily, lambda d: d.date()), (weekly, lambda d: tuple(d.isocalendar())[:2]),
                          (monthly, lambda d: (d.year, d.month))):
        seen: list[Any] = []
        for b in newest_first:
            k = bucket(created[b])
            if k in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(k)
            kept.add(b)
    return kept


@dataclass
class PruneReport:
    kept: list[str]
    removed: list[str]
    objects_removed: int


def prune(settings: Settings, target: Target) -> PruneReport:
    backups = list_backups(target)
    created = {m.id: datetime.fromisoformat(m.created_at) for m in backups}
    kept = keep_set(created, settings.backup_keep_daily, settings.backup_keep_weekly, settings.backup_keep_monthly)
    if created:
        kept.add(max(created, key=lambda b: created[b]))  # whatever the settings, the newest stays
    gone = [m for m in backups if m.id not in kept]
    referenced = {k for m in backups if m.id in kept for k in m.objects}
    restic = restic_for(settings, target)
    snapshots = {x for snap in restic.snapshots() for x in (snap.get("id"), snap.get("short_id")) if x}
    restic.forget([m.snapshot for m in gone if m.snapshot in snapshots])  # one already gone is no error
    for m in gone:
        target.area.remove(m.key)
        target.area.remove(f"{DRILLS}{m.id}.json")
    removed = 0
    for key in list(target.area.keys("mcap/")) + list(target.area.keys("signals/")):
        if key not in referenced:  # no kept backup names it
            target.area.remove(key)
            removed += 1
    return PruneReport(sorted(kept), sorted(m.id for m in gone), removed)
