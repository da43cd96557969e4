"""The latest `station.status` of each base station, for the web page and GET /stations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bson.errors import InvalidDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from pitwall.common.broker.consumer import PermanentError
from pitwall.common.events import StationStatus
from pitwall.common.logging import get_logger

log = get_logger(__name__)


async def record(stations: AsyncCollection[dict[str, Any]], event: StationStatus) -> bool:
    """Keep `event` as the station's status unless a newer one is stored already.

    The filter matches only an older report; when a newer one is there the upsert's
    insert collides on `_id` and nothing changes: a late redelivery (or a retry that
    lost the race) never overwrites a newer heartbeat. Returns whether it was stored.
    """
    at = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=UTC)
    doc = {
        "last_seen": at,
        "status": event.model_dump(mode="python"),
        "updated_at": datetime.now(UTC),
    }
    try:
        await stations.update_one({"_id": event.station_id, "last_seen": {"$lt": at}}, {"$set": doc}, upsert=True)
    except DuplicateKeyError:
        log.info("older station status ignored", station_id=event.station_id, occurred_at=at.isoformat())
        return False
    except (InvalidDocument, OverflowError) as exc:
        raise PermanentError(f"station status can't be stored: {exc}") from exc
    return True
