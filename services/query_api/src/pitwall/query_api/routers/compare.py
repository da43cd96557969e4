"""Lap comparison: laps of one or more runs overlaid by distance or lap time, with the delta."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from pitwall.query_api.compare import MAX_LAPS
from pitwall.query_api.deps import Manifests, Reader, Res
from pitwall.query_api.domain.comparison import MAX_SIGNALS, compare_laps
from pitwall.query_api.errors import AUTH, NOT_FOUND
from pitwall.query_api.models import CompareResponse, LapPicks

router = APIRouter(prefix="/api/v1", tags=["compare"], responses={**AUTH, **NOT_FOUND})


@router.get("/compare", response_model=CompareResponse, summary="Compare laps")
async def get_compare(
    manifests: Manifests,
    res: Res,
    who: Reader,
    laps: Annotated[
        LapPicks,
        Query(max_length=2000, description=f"`RUN:LAP,RUN:LAP` (2 to {MAX_LAPS}); the first is the reference "
                                           "unless `ref` says otherwise"),
    ],
    signals: Annotated[
        str,
        Query(max_length=4000, description=f"up to {MAX_SIGNALS} `topic:path` keys, comma-separated, as in /series"),
    ] = "",
    x: Annotated[
        Literal["distance", "time"],
        Query(description="the x axis: distance along the reference lap (m) or lap time (s)"),
    ] = "distance",
    points: Annotated[int, Query(ge=50, le=5000, description="grid points per lap")] = 1000,
    ref: Annotated[int, Query(ge=0, lt=MAX_LAPS, description="index in `laps` of the reference lap")] = 0,
) -> CompareResponse:
    """Laps aligned on one grid: each signal's value, each lap's time and distance, the
    delta-time trace against the reference, and a track map coloured by time lost."""
    return await compare_laps(res, manifests, who, laps, signals, x, points, ref)
