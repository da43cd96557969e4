"""Keeping `run_summaries` in step with `runs`: ingest writes both, the run first.

A summary is rewritten whole from its run after every write to the run, and a
redelivered event rewrites it again, so a crash between the two writes leaves the
summary one redelivery (or one start-up backfill) behind, never wrong for good.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pymongo import DeleteOne, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from pitwall.common.contracts import mongo
from pitwall.common.logging import get_logger
from pitwall.common.summaries import FORMAT, FORMAT_VERSION, SOURCE_PROJECTION, run_summary

log = get_logger(__name__)
BATCH = 500
# Stands for the `updated_at` of a summary of another format: never equal to a run's.
_OUTDATED = object()


async def write(db: AsyncDatabase[dict[str, Any]], run: Mapping[str, Any]) -> None:
    """The summary of this run document, as it now is in `runs`."""
    await db[mongo.RUN_SUMMARIES].replace_one({"_id": run["_id"]}, run_summary(run), upsert=True)


async def refresh(db: AsyncDatabase[dict[str, Any]], run_id: str) -> None:
    """Re-read the run and rewrite its summary (after an update of the run)."""
    run = await db[mongo.RUNS].find_one({"_id": run_id}, SOURCE_PROJECTION)
    if run is None:
        await db[mongo.RUN_SUMMARIES].delete_one({"_id": run_id})
    else:
        await write(db, run)


async def backfill(db: AsyncDatabase[dict[str, Any]]) -> dict[str, int]:
    """Make every run's summary and only those: missing ones are created, ones whose
    `updated_at` differs from their run's or that an older `run_summary` made (another
    FORMAT_VERSION: fields it did not derive) are rebuilt, ones without a run removed.
    Idempotent; a database from before summaries gets them all on its first start."""
    started = time.perf_counter()
    runs, sums = db[mongo.RUNS], db[mongo.RUN_SUMMARIES]
    have = {
        d["_id"]: d.get("updated_at") if d.get(FORMAT) == FORMAT_VERSION else _OUTDATED
        async for d in sums.find({}, {"updated_at": 1, FORMAT: 1})
    }
    todo: list[Any] = []
    seen = 0
    created = 0
    async for d in runs.find({}, {"updated_at": 1}):
        seen += 1
        if d["_id"] not in have:
            created += 1
            todo.append(d["_id"])
        elif have[d["_id"]] != d.get("updated_at"):
            todo.append(d["_id"])
        have.pop(d["_id"], None)
    for i in range(0, len(todo), BATCH):
        batch = [ReplaceOne({"_id": r["_id"]}, run_summary(r), upsert=True)
                 async for r in runs.find({"_id": {"$in": todo[i : i + BATCH]}}, SOURCE_PROJECTION)]
        if batch:
            await sums.bulk_write(batch, ordered=False)
    orphans = list(have)
    for i in range(0, len(orphans), BATCH):
        await sums.bulk_write([DeleteOne({"_id": k}) for k in orphans[i : i + BATCH]], ordered=False)
    counts = {"runs": seen, "created": created, "rebuilt": len(todo) - created, "removed": len(orphans)}
    log.info("run summaries checked", **counts, seconds=round(time.perf_counter() - started, 2))
    return counts
