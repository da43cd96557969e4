"""Base stations: their heartbeat in (`station.status`, kept by ingest), their list out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic_core import PydanticSerializationError

from pitwall.common.events import StationStatus
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Reader, Uploader
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, invalid
from pitwall.query_api.models import StationAccepted, StationList, StationReport, StationView
from pitwall.query_api.publishing import publish

router = APIRouter(prefix="/api/v1", tags=["stations"], responses=AUTH)

Res = Annotated[Resources, Depends(resources)]
MAX_STATIONS = 1000
# A station is online while its latest report is younger than this many intervals.
ONLINE_INTERVALS = 3


@router.post(
    "/stations/status", response_model=StationAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**INVALID, **UNAVAILABLE}, summary="A base station's heartbeat",
)
async def report(body: StationReport, res: Res, who: Uploader) -> StationAccepted:
    """Published as `station.status` (the time is the gateway's, `reported_by` the
    token's name); ingest keeps the latest report per station."""
    event = StationStatus(**body.model_dump(), reported_by=who.name)
    try:
        event.model_dump_json()
    except PydanticSerializationError:
        # Lone surrogates pass JSON parsing but can't be sent on (or stored).
        raise invalid("body", "text must be valid UTF-8", location="body") from None
    await publish(res, event)
    return StationAccepted(event_id=event.event_id)


def _view(doc: dict[str, Any], now: datetime) -> StationView:
    last_seen: datetime = doc["last_seen"]
    if last_seen.tzinfo is None:
        last_seen = last_seen.replace(tzinfo=UTC)
    state = doc.get("status") or {}
    interval = float(state.get("interval_s") or 0)
    online = now - last_seen <= timedelta(seconds=ONLINE_INTERVALS * interval)
    return StationView.model_validate({**state, "station_id": doc["_id"], "last_seen": last_seen, "online": online})


@router.get("/stations", response_model=StationList, summary="Base stations and what they hold")
async def list_stations(res: Res, who: Reader) -> StationList:
    """Every station that ever reported, by id: its latest report, when it came, and
    whether the station is online (reported within 3 of its intervals)."""
    now = datetime.now(UTC)
    docs = await readmodel.stations(res).find({}, {"status": 1, "last_seen": 1}).sort("_id", 1).to_list(MAX_STATIONS)
    return StationList(stations=[_view(doc, now) for doc in docs])
