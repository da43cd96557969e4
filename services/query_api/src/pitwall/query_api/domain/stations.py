"""Base stations: a heartbeat in becomes `station.status` (ingest keeps the latest per
station), and the list out says which are online."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from pydantic_core import PydanticSerializationError

from pitwall.common.contracts.documents import StationDoc
from pitwall.common.events import StationStatus
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Principal
from pitwall.query_api.errors import invalid
from pitwall.query_api.models import StationAccepted, StationReport, StationView
from pitwall.query_api.publishing import publish
from pitwall.query_api.resources import Resources

MAX_STATIONS = 1000
# A station is online while its latest report is younger than this many intervals.
ONLINE_INTERVALS = 3


async def report(res: Resources, body: StationReport, who: Principal) -> StationAccepted:
    """Published with the gateway's time and the token's name as `reported_by`."""
    event = StationStatus(**body.model_dump(), reported_by=who.name)
    try:
        event.model_dump_json()
    except PydanticSerializationError:
        # Lone surrogates pass JSON parsing but can't be sent on (or stored).
        raise invalid("body", "text must be valid UTF-8", location="body") from None
    await publish(res, event)
    return StationAccepted(event_id=event.event_id)


def view(doc: StationDoc, now: datetime) -> StationView:
    last_seen = doc["last_seen"]
    if last_seen.tzinfo is None:
        last_seen = last_seen.replace(tzinfo=UTC)
    state = doc.get("status") or {}
    interval = float(state.get("interval_s") or 0)
    online = now - last_seen <= timedelta(seconds=ONLINE_INTERVALS * interval)
    return StationView.model_validate(
        {**state, "station_id": doc["_id"], "last_seen": last_seen, "online": online}
    )


async def views(res: Resources) -> list[StationView]:
    """Every station that ever reported, by id, as of now."""
    now = datetime.now(UTC)
    found = readmodel.stations(res).find({}, {"status": 1, "last_seen": 1}).sort("_id", 1)
    docs = cast("list[StationDoc]", await found.to_list(MAX_STATIONS))
    return [view(doc, now) for doc in docs]
