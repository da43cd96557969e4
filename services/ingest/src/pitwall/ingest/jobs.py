"""Durable conversion job status from conversion.* events (a restart loses nothing)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from pitwall.common.events import (
    ConversionCompleted,
    ConversionFailed,
    ConversionProgress,
    ConversionRequested,
    Event,
)

# Events can arrive out of order (progress before the request is recorded): a job only
# moves forward through these ranks.
_RANK = {"queued": 0, "running": 1, "done": 2, "failed": 2}


async def record(jobs: AsyncCollection[dict[str, Any]], event: Event) -> None:
    now = datetime.now(UTC)
    if isinstance(event, ConversionRequested):
        await jobs.update_one(
            {"_id": event.job_id},
            {
                "$setOnInsert": {"status": "queued", "progress": 0.0, "created_at": now},
                "$set": {"request": event.model_dump(mode="json"), "updated_at": now},
            },
            upsert=True,
        )
        return
    if isinstance(event, ConversionProgress):
        status, fields = "running", {"progress": event.progress, "stage": event.stage}
    elif isinstance(event, ConversionCompleted):
        status, fields = "done", {
            "progress": 1.0, "result_key": event.result_key, "size": event.size,
            "cached": event.cached, "summary": event.summary, "finished_at": now,
        }
    elif isinstance(event, ConversionFailed):
        status, fields = "failed", {"error": event.reason, "finished_at": now}
    else:
        return
    allowed = [s for s, r in _RANK.items() if r < _RANK[status]] + ([status] if status == "running" else [])
    result = await jobs.update_one(
        {"_id": event.job_id, "status": {"$in": allowed}},
        {"$set": {"status": status, "updated_at": now, **fields}},
    )
    if result.matched_count == 0:
        # Either unknown yet (create it) or already finished (leave it).
        await jobs.update_one(
            {"_id": event.job_id},
            {"$setOnInsert": {"status": status, "created_at": now, "updated_at": now, **fields}},
            upsert=True,
        )
