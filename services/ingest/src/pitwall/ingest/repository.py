"""The indexes of the collections ingest owns (names in pitwall.common.contracts.mongo),
behind every API query."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from pitwall.common import summaries
from pitwall.common.contracts import mongo

_BY_START = [("start_ns", DESCENDING), ("_id", DESCENDING)]
_BY_UPLOADED = [(summaries.UPLOADED_NS, DESCENDING), ("_id", DESCENDING)]
# The fields a list filters on with one equality (or an $in of a few values).
LIST_FILTER_FIELDS = (
    "setup.track", "setup.driver", "setup.event_type", "setup.car",
    "tags", "status", "topics", "search", summaries.EVENT_TOKENS,
)

INDEXES: dict[str, list[IndexModel]] = {
    # Lists read `run_summaries`, so runs need only their lookups (older databases keep
    # their former list indexes: harmless, and dropping them is an operator's choice).
    mongo.RUNS: [IndexModel([("uploads.event_id", ASCENDING)], name="upload_event")],
    mongo.RUN_SUMMARIES: [
        # Every list filter is an equality on one field + the keyset sort on
        # (start_ns, _id) or (uploaded_ns, _id): each pair gets an index that serves
        # both, no blocking sort.
        IndexModel([("deleted", ASCENDING), *_BY_START], name="list"),
        IndexModel([("deleted", ASCENDING), *_BY_UPLOADED], name="list_uploaded"),
        *(IndexModel([(f, ASCENDING), ("deleted", ASCENDING), *_BY_START], name=f"by_{f}") for f in LIST_FILTER_FIELDS),
        *(
            IndexModel([(f, ASCENDING), ("deleted", ASCENDING), *_BY_UPLOADED], name=f"by_{f}_uploaded")
            for f in LIST_FILTER_FIELDS
        ),
    ],
    mongo.SIGNALS: [
        IndexModel([("run_id", ASCENDING)], name="run"),
        *(IndexModel([("key", ASCENDING), (s, ASCENDING)], name=f"key_{s}") for s in ("max", "min", "mean")),
    ],
    mongo.JOBS: [IndexModel([("created_at", DESCENDING)], name="created")],
    mongo.OUTBOX: [IndexModel([("published_at", ASCENDING), ("created_at", ASCENDING)], name="pending")],
    mongo.TOKENS: [IndexModel([("hash", ASCENDING)], name="hash", unique=True)],
    # Idempotency keys only need to outlive any redelivery.
    mongo.PROCESSED: [IndexModel([("at", ASCENDING)], name="ttl", expireAfterSeconds=30 * 86400)],
}


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    for collection, models in INDEXES.items():
        await db[collection].create_indexes(models)
