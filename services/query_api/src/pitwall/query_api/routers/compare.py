"""Lap comparison: laps of one or more runs overlaid by distance or lap time, with the delta."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from pitwall.query_api.auth import Reader
from pitwall.query_api.compare import MAX_LAPS, compare, parse_laps
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH, NOT_FOUND, invalid, not_found
from pitwall.query_api.models import CompareResponse, finite
from pitwall.query_api.queries import FilterError
from pitwall.query_api.routers.runs import find_run
from pitwall.query_api.routers.signals import manifest_cache
from pitwall.query_api.series import NoSignalStore

router = APIRouter(prefix="/api/v1", tags=["compare"], responses={**AUTH, **NOT_FOUND})
Res = Annotated[Resources, Depends(resources)]
MAX_SIGNALS = 8


@router.get("/compare", response_model=CompareResponse, summary="Compare laps")
async def get_compare(
    request: Request,
    res: Res,
    who: Reader,
    laps: Annotated[str, Query(max_length=2000, description=f"`RUN:LAP,RUN:LAP` (2 to {MAX_LAPS}); the first is the reference unless `ref` says otherwise")],
    signals: Annotated[str, Query(max_length=4000, description=f"up to {MAX_SIGNALS} `topic:path` keys, comma-separated, as in /series")] = "",
    x: Annotated[Literal["distance", "time"], Query(description="the x axis: distance along the reference lap (m) or lap time (s)")] = "distance",
    points: Annotated[int, Query(ge=50, le=5000, description="grid points per lap")] = 1000,
    ref: Annotated[int, Query(ge=0, lt=MAX_LAPS, description="index in `laps` of the reference lap")] = 0,
) -> CompareResponse:
    """Laps aligned on one grid: each signal's value, each lap's time and distance, the
    delta-time trace against the reference, and a track map coloured by time lost."""
    try:
        picks = parse_laps(laps)
    except FilterError as exc:
        raise invalid(exc.field, str(exc), value=laps) from None
    if ref >= len(picks):
        raise invalid("ref", f"there are {len(picks)} laps (0-{len(picks) - 1})", value=ref)
    keys = list(dict.fromkeys(k.strip() for k in signals.split(",") if k.strip()))
    if len(keys) > MAX_SIGNALS:
        raise invalid("signals", f"at most {MAX_SIGNALS} signals per comparison")
    docs = {}
    for run_id in dict.fromkeys(p.run_id for p in picks):
        doc = await find_run(res, run_id, who, {"filename": 1, "setup": 1, "laps": 1, "status": 1, "track.topic": 1, "track.lat_path": 1, "track.lon_path": 1})
        if doc.get("status") == "rejected":
            raise not_found(f"run {run_id!r} was rejected: it has no signals")
        docs[run_id] = doc
    try:
        body = await asyncio.to_thread(compare, res.store, manifest_cache(request), docs, picks, keys, x, points, ref)
    except FilterError as exc:
        raise invalid(exc.field, str(exc)) from None
    except NoSignalStore as exc:
        raise not_found(f"run {exc.args[0]!r} has no stored signals") from None
    return CompareResponse.model_validate(finite(body))
