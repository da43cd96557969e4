"""The restore drill: the latest backup restored into a scratch database and buckets,
checked against its manifest, then removed. A backup nobody restored is a hope."""

from __future__ import annotations

import time

from pitwall.backup.core import BackupError, mongo, restore
from pitwall.backup.manifest import Manifest
from pitwall.backup.target import Target
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore


def scratch(settings: Settings, backup_id: str) -> Settings:
    tag = "".join(c for c in backup_id.lower() if c.isalnum())[-12:]
    return settings.model_copy(update={"mongo_db": f"{settings.mongo_db}_drill_{tag}",
                                       "bucket_prefix": f"{settings.bucket_prefix}drill-{tag}-"})


def drill(settings: Settings, target: Target, manifest: Manifest) -> tuple[str, float]:
    """("passed" | "failed: why", seconds)."""
    started = time.monotonic()
    s = scratch(settings, manifest.id)
    try:
        report = restore(s, target, manifest.id, force=True)
        client = mongo(s)
        try:
            db = client[s.mongo_db]
            wrong = [f"{name}: {db[name].count_documents({})} of {c.count}" for name, c in manifest.collections.items()
                     if db[name].count_documents({}) != c.count]
        finally:
            client.close()
        if wrong:
            return f"failed: restored counts differ ({'; '.join(wrong)})", time.monotonic() - started
        if report.objects != len(manifest.objects):
            return f"failed: {report.objects} of {len(manifest.objects)} objects restored", time.monotonic() - started
        return "passed", time.monotonic() - started
    except BackupError as exc:
        return f"failed: {exc}"[:500], time.monotonic() - started
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
