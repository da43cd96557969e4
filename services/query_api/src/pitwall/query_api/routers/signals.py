"""A run's signals: the tree with types and statistics, and values for plotting."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from pitwall.query_api import readmodel
from pitwall.query_api.auth import Reader
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH, NOT_FOUND, invalid, not_found
from pitwall.query_api.models import SeriesResponse, SignalTree, finite
from pitwall.query_api.queries import FilterError
from pitwall.query_api.routers.runs import find_run
from pitwall.query_api.series import ManifestCache, NoSignalStore, read_series

router = APIRouter(prefix="/api/v1", tags=["signals"], responses={**AUTH, **NOT_FOUND})
Res = Annotated[Resources, Depends(resources)]
MAX_SIGNALS = 32


def manifest_cache(request: Request) -> ManifestCache:
    cache: ManifestCache | None = getattr(request.app.state, "manifests", None)
    if cache is None:
        cache = request.app.state.manifests = ManifestCache()
    return cache


@router.get("/runs/{run_id}/signals", response_model=SignalTree, summary="Signal tree with statistics")
async def get_signals(run_id: str, res: Res, who: Reader) -> SignalTree:
    """Every signal of the run by topic: type, count, min, max, mean, distinct values."""
    doc = await find_run(res, run_id, who, {"channels": 1})
    stats = await readmodel.signals(res).find({"run_id": run_id}, {"_id": 0, "run_id": 0}).to_list()
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for s in stats:
        by_topic.setdefault(s.get("topic", ""), []).append(finite(s))
    channels = {c["topic"]: c for c in doc.get("channels") or []}
    topics = []
    for topic in sorted(set(by_topic) | set(channels)):
        ch = channels.get(topic, {})
        topics.append(
            {
                "topic": topic,
                "schema_name": ch.get("schema_name"),
                "encoding": ch.get("encoding"),
                "message_count": ch.get("message_count"),
                "rate_hz": finite(ch.get("rate_hz")),
                "signals": sorted(by_topic.get(topic, []), key=lambda s: s.get("path", "")),
            }
        )
    return SignalTree.model_validate({"run_id": run_id, "topics": topics})


@router.get("/runs/{run_id}/series", response_model=SeriesResponse, summary="Values for plotting")
async def get_series(
    run_id: str,
    request: Request,
    res: Res,
    who: Reader,
    signals: Annotated[
        list[str],
        Query(min_length=1, max_length=MAX_SIGNALS, description="`topic:path` (or `topic:path[i]` for an element of a repeated field), comma-separated or repeated"),
    ],
    start: Annotated[float | None, Query(allow_inf_nan=False, ge=-1e7, le=1e7, description="seconds since the run's origin")] = None,
    end: Annotated[float | None, Query(allow_inf_nan=False, ge=-1e7, le=1e7, description="seconds since the run's origin")] = None,
    max_points: Annotated[int, Query(ge=2, le=200_000, description="per signal; each bucket keeps its min and max")] = 2000,
) -> SeriesResponse:
    keys = list(dict.fromkeys(k.strip() for item in signals for k in item.split(",") if k.strip()))
    if not keys:
        raise invalid("signals", "name at least one signal")
    if len(keys) > MAX_SIGNALS:
        raise invalid("signals", f"at most {MAX_SIGNALS} signals per request")
    if start is not None and end is not None and end < start:
        raise invalid("end", "end is before start", value=end)
    doc = await find_run(res, run_id, who, {"status": 1})
    if doc.get("status") == "rejected":
        raise not_found(f"run {run_id!r} was rejected: it has no signals")
    try:
        origin, series = await asyncio.to_thread(
            read_series, res.store, manifest_cache(request), run_id, keys, start, end, max_points
        )
    except FilterError as exc:
        raise invalid(exc.field, str(exc)) from None
    except NoSignalStore:
        raise not_found(f"run {run_id!r} has no stored signals") from None
    return SeriesResponse(run_id=run_id, origin_ns=origin, start=start, end=end, max_points=max_points, signals=series)
