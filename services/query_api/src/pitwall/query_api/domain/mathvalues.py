"""Math channels' values for `/series`: the live definitions, each channel evaluated on the
run from its signal store (`pitwall.query_api.mathseries`), decimated like any signal."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Any

from pitwall.common.catalogue import states_of
from pitwall.common.contracts import mongo
from pitwall.common.mathchannels import MATH_PREFIX, Expression, Unavailable, parse
from pitwall.query_api import readmodel
from pitwall.query_api.decimate import minmax
from pitwall.query_api.domain import signalinfo
from pitwall.query_api.errors import rule
from pitwall.query_api.mathseries import evaluate_on_run, raw_references
from pitwall.query_api.resources import Resources
from pitwall.query_api.series import ManifestCache


async def definitions(res: Resources) -> tuple[dict[str, Expression], dict[str, dict[str, Any]]]:
    """(name -> parsed expression, name -> stored document) of every live math channel."""
    docs = {d["_id"]: d async for d in readmodel.database(res)[mongo.MATH_CHANNELS].find({"deleted": {"$ne": True}})}
    return {n: parse(d["expression"]) for n, d in docs.items()}, docs


async def series_of(
    res: Resources, cache: ManifestCache, doc: Mapping[str, Any], run_id: str, keys: list[str],
    start: float | None, end: float | None, max_points: int,
) -> tuple[int | None, list[dict[str, Any]]]:
    """(the run's origin, one `/series` item per `math:<name>` key); 422 naming the channel and
    the reason when the run cannot give it (a signal it lacks)."""
    defs, docs = await definitions(res)
    origin: int | None = None
    out: list[dict[str, Any]] = []
    run_doc = {**doc, **await _run_fields(res, run_id)}  # once: every channel reads the same run
    for key in keys:
        name = key.removeprefix(MATH_PREFIX)
        if name not in defs:
            raise rule("signals", f"no math channel {name!r} (see /api/v1/channels/math)")
        info = await signalinfo.for_run(res, run_doc, raw_references(name, defs))
        states = {k: states_of(v) for k, v in info.items() if v.get("states")}
        try:
            origin, ev = await asyncio.to_thread(
                evaluate_on_run, res.store, cache, run_id, name, defs, start, end, states, doc.get("laps"))
        except Unavailable as exc:
            raise rule("signals", f"{key} cannot be computed on this run: {exc}") from None
        t_out, v_out, decimated = minmax(ev.t, ev.v, max_points)
        stored = docs[name]
        out.append({
            "key": key, "stored_key": None, "kind": "double", "t": t_out.tolist(),
            "v": [x if math.isfinite(x) else None for x in v_out.tolist()],
            "points_in_window": int(ev.v.shape[0]), "decimated": decimated, "enum_names": None,
            "unit": stored.get("unit") or None, "description": stored.get("description") or None,
            "origins": {f: "math" for f in ("unit", "description") if stored.get(f)} or None,
        })
    return origin, out


async def _run_fields(res: Resources, run_id: str) -> dict[str, Any]:
    return await readmodel.runs(res).find_one({"_id": run_id}, signalinfo.RUN_FIELDS) or {}
