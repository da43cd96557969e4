"""Base stations: their heartbeat in (`station.status`, kept by ingest), their list out."""

from __future__ import annotations

from fastapi import APIRouter, status

from pitwall.query_api.deps import Reader, Res, Uploader
from pitwall.query_api.domain import stations
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE
from pitwall.query_api.models import StationAccepted, StationList, StationReport

router = APIRouter(prefix="/api/v1", tags=["stations"], responses=AUTH)


@router.post(
    "/stations/status", response_model=StationAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**INVALID, **UNAVAILABLE}, summary="A base station's heartbeat",
)
async def report(body: StationReport, res: Res, who: Uploader) -> StationAccepted:
    """Published as `station.status` (the time is the gateway's, `reported_by` the
    token's name); ingest keeps the latest report per station."""
    return await stations.report(res, body, who)


@router.get("/stations", response_model=StationList, summary="Base stations and what they hold")
async def list_stations(res: Res, who: Reader) -> StationList:
    """Every station that ever reported, by id: its latest report, when it came, and
    whether the station is online (reported within 3 of its intervals)."""
    return StationList(stations=await stations.views(res))
