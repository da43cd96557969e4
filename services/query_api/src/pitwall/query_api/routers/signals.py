"""A run's signals: the tree with types and statistics, and values for plotting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from pitwall.query_api.deps import Manifests, Reader, Res
from pitwall.query_api.domain import signals as domain
from pitwall.query_api.domain.signals import MAX_SIGNALS
from pitwall.query_api.errors import AUTH, NOT_FOUND
from pitwall.query_api.jsonbody import json_body
from pitwall.query_api.models import SeriesResponse, SignalKeys, SignalTree

router = APIRouter(prefix="/api/v1", tags=["signals"], responses={**AUTH, **NOT_FOUND})


@router.get("/runs/{run_id}/signals", response_model=SignalTree, summary="Signal tree with statistics")
async def get_signals(run_id: str, res: Res, who: Reader) -> Response:
    """Every signal of the run by topic: type, count, min, max, mean, distinct values, and
    what the channel catalogue says of it (unit, description, display name, states)."""
    return json_body(await domain.signal_tree(res, run_id, who))


@router.get("/runs/{run_id}/series", response_model=SeriesResponse, summary="Values for plotting")
async def get_series(
    run_id: str,
    manifests: Manifests,
    res: Res,
    who: Reader,
    signals: Annotated[
        list[SignalKeys],
        Query(min_length=1, max_length=MAX_SIGNALS,
              description="`topic:path` (or `topic:path[i]` for an element of a repeated field), "
                          "comma-separated or repeated"),
    ],
    start: Annotated[
        float | None, Query(allow_inf_nan=False, ge=-1e7, le=1e7, description="seconds since the run's origin")
    ] = None,
    end: Annotated[
        float | None, Query(allow_inf_nan=False, ge=-1e7, le=1e7, description="seconds since the run's origin")
    ] = None,
    max_points: Annotated[
        int, Query(ge=2, le=200_000, description="per signal; each bucket keeps its min and max")
    ] = 2000,
) -> Response:
    return json_body(await domain.series(res, manifests, run_id, who, signals, start, end, max_points))
