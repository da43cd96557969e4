"""The restore drill: the latest backup restored into a scratch database and buckets,
checked against its manifest, then removed. A backup nobody restored is a hope."""

from __future__ import annotations

import time

from pitwall.backupkit.core import mongo, restore
from pitwall.backupkit.dump import collection_sha
from pitwall.backupkit.manifest import Manifest
from pitwall.backupkit.target import Target
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore


def scratch(settings: Settings, backup_id: str) -> Settings:
    tag = "".join(c for c in backup_id.lower() if c.isalnum())[-12:]
    return settings.model_copy(update={"mongo_db": f"{settings.mongo_db}_drill_{tag}",
                                       "bucket_prefix": f"{settings.bucket_prefix}drill-{tag}-"})


def drill(settings: Settings, target: Target, manifest: Manifest) -> tuple[str, float]:
    """("passed" | "failed: why", seconds): restored, then every collection's canonical
    hash and count compared with the manifest, and the objects counted."""
    started = time.monotonic()
    s = scratch(settings, manifest.id)
    try:
        report = restore(s, target, manifest.id, force=True, sample=settings.backup_drill_sample)
        client = mongo(s)
        try:
            wrong = []
            for name, c in manifest.collections.items():
                sha, n = collection_sha(client, s.mongo_db, name)
                if (sha, n) != (c.sha256, c.count):
                    wrong.append(f"{name}: {n} of {c.count} documents" + ("" if n != c.count else ", other content"))
        finally:
            client.close()
        if wrong:
            return f"failed: restored catalogue differs ({'; '.join(wrong)})", time.monotonic() - started
        want = len(manifest.objects) if settings.backup_drill_sample >= 1.0 else None
        if report.skipped_objects or (want is not None and report.objects != want):
            return (f"failed: {report.objects} of {len(manifest.objects)} objects restored, "
                    f"{len(report.skipped_objects)} damaged"), time.monotonic() - started
        return "passed", time.monotonic() - started
    except Exception as exc:  # whatever stops a restore is the drill's verdict, not a crash
        return f"failed: {type(exc).__name__}: {exc}"[:500], time.monotonic() - started
    finally:
        _remove(s)


def _remove(s: Settings) -> None:
    client = mongo(s)
    try:
        client.drop_database(s.mongo_db)
    finally:
        client.close()
    store = ObjectStore(s)
    for bucket in (s.bucket_mcap, s.bucket_signals, s.bucket_exports, s.bucket_backups):
        if store.client.bucket_exists(bucket):
            for o in store.client.list_objects(bucket, recursive=True):
                if o.object_name:
                    store.client.remove_object(bucket, o.object_name)
            store.client.remove_bucket(bucket)
