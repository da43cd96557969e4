"""Section: backups of a catalogue of many runs, beside a plain copy of the same bytes.

N synth runs (100 of ~10 MB, about 1 GB; 20 with --quick) are ingested on the real
stack, then:
  plain        every MCAP object read and written again into another bucket (what a
               nightly `aws s3 cp --recursive` of the bucket does, every night);
  full         `pitwall backup` the first time: catalogue dump into restic, every
               object copied server-side and its SHA-256 checked;
  incremental  the next night after one more run: only that run's object copied;
  restore      into an empty database and empty buckets, every part checked first.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import inputs
from bench.context import Context
from bench.inputs import Spec
from bench.report import Section, mb, ratio, say, secs


def run(ctx: Context, section: Section) -> None:
    from pitwall.backupkit.core import restore, run_backup
    from pitwall.backupkit.target import open_target
    from pitwall.common.storage import ObjectStore

    n = 20 if ctx.config.quick else 100
    say(f"backup: {n} runs of 40 s (synth, cached)")
    with ThreadPoolExecutor(2) as pool:
        made = list(pool.map(lambda i: inputs.ensure(Spec(minutes=40 / 60, seed=500 + i)), range(n + 1)))
    stack = ctx.get_stack()
    t0 = time.perf_counter()
    for item in made[:n]:
        stack.ingest(item.path)
    say(f"ingested {n} runs in {time.perf_counter() - t0:.0f} s")
    settings = stack.settings.model_copy(update={"backup_password": "bench-key"})
    store = ObjectStore(settings)
    objects = [o for o in store.client.list_objects(settings.bucket_mcap, recursive=True) if o.object_name]
    total = sum(int(o.size or 0) for o in objects)

    # -- plain: read and write every object ------------------------------------------------
    plain_bucket = f"{settings.bucket_prefix}bench-plain-copy"
    if not store.client.bucket_exists(plain_bucket):
        store.client.make_bucket(plain_bucket)
    t0 = time.perf_counter()
    for o in objects:
        name = o.object_name or ""
        data = b"".join(store.iter_object(settings.bucket_mcap, name))
        store.put_bytes(plain_bucket, name, data)
    t_plain = time.perf_counter() - t0
    store.delete_bucket_recursive(plain_bucket)

    # -- pitwall backup: full, then incremental -------------------------------------------
    target = open_target(settings, f"s3://{settings.bucket_backups}/bench")
    say("full backup")
    full = run_backup(settings, target, "bench-full")
    stack.ingest(made[n].path)
    say("incremental backup")
    inc = run_backup(settings, target, "bench-incremental")

    # -- restore into an empty database and buckets ---------------------------------------
    scratch = settings.model_copy(update={"mongo_db": settings.mongo_db + "_restore",
                                          "bucket_prefix": settings.bucket_prefix + "restore-"})
    say("restore")
    t0 = time.perf_counter()
    report = restore(scratch, target, "bench-incremental")
    t_restore = time.perf_counter() - t0
    # Folder target (a USB disk, offsite by hand): every object streamed, not copied server-side.
    with tempfile.TemporaryDirectory(prefix="pitwall-bench-backup-") as tmp:
        say("full backup to a folder")
        folder = run_backup(settings, open_target(settings, f"file://{Path(tmp) / 'usb'}"), "bench-folder")

    t = section.table(f"{n} runs, {mb(total)} of MCAP on the local S3, on this machine",
                      ["route", "time", "MB/s", "vs plain copy", "what it did"])
    t.add("plain: read + write every object", secs(t_plain), f"{total / t_plain / 1e6:.0f}", "1.0x",
          f"{len(objects)} objects, nothing checked, catalogue not included")
    t.add("full backup (same S3: server-side copy)", secs(full.seconds),
          f"{full.bytes_copied / full.seconds / 1e6:.0f}",
          ratio(t_plain / full.seconds),
          f"{full.objects_copied} objects copied and SHA-256 checked, {full.documents} documents dumped")
    t.add("incremental backup (next night, +1 run)", secs(inc.seconds), "–", ratio(t_plain / inc.seconds),
          f"{inc.objects_copied} object copied ({mb(inc.bytes_copied)}), catalogue dumped again (deduplicated)")
    t.add("full backup to a folder (streamed)", secs(folder.seconds),
          f"{folder.bytes_copied / folder.seconds / 1e6:.0f}",
          ratio(t_plain / folder.seconds), f"{folder.objects_copied} objects written and checked")
    t.add("restore into an empty database + buckets", secs(t_restore), f"{total / t_restore / 1e6:.0f}", "–",
          f"{report.documents} documents, {report.objects} objects, every part checked before writing")
    t.notes.append("Backups copy each immutable object once: the incremental cost is the new runs plus the "
                   "catalogue, whatever the size of the archive. The plain copy re-sends everything every night.")
    section.data.update({"runs": n, "bytes": total, "plain_s": t_plain, "full_s": full.seconds,
                         "incremental_s": inc.seconds, "incremental_objects": inc.objects_copied,
                         "folder_s": folder.seconds, "restore_s": t_restore})
    for bucket in scratch.buckets:
        store.delete_bucket_recursive(bucket)
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(scratch.mongo_url)
    client.drop_database(scratch.mongo_db)
    client.close()
