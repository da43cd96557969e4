"""A run's signals: the tree (types and statistics from ingest's `signals`, topics from
the run's channels) and values for plotting (read from the run's signal store in S3)."""

from __future__ import annotations

import asyncio
from typing import Any

from pitwall.common.mathchannels import MATH_PREFIX
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Principal
from pitwall.query_api.domain import mathvalues, signalinfo
from pitwall.query_api.domain.runs import find_run
from pitwall.query_api.errors import invalid, not_found, rule
from pitwall.query_api.models import SeriesResponse, SignalTree, finite
from pitwall.query_api.queries import FilterError
from pitwall.query_api.resources import Resources
from pitwall.query_api.series import ManifestCache, NoSignalStore, read_series

MAX_SIGNALS = 32


async def signal_tree(res: Resources, run_id: str, who: Principal) -> SignalTree:
    doc = await find_run(res, run_id, who, {"channels": 1})
    stats = await readmodel.signals(res).find({"run_id": run_id}, {"_id": 0, "run_id": 0}).to_list()
    schema = {s["key"]: found for s in stats if (found := signalinfo.schema_of(s))}
    catalogue = await signalinfo.current(res)
    info = await signalinfo.for_run_id(res, catalogue, run_id, [s["key"] for s in stats if "key" in s], schema,
                                       "tree")
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for s in stats:
        s.pop("schema", None)
        facts = signalinfo.facts(info.get(s.get("key", "")))
        by_topic.setdefault(s.get("topic", ""), []).append({**finite(s), **facts})
    channels: dict[str, Any] = {c["topic"]: c for c in doc.get("channels") or []}
    topics = []
    for topic in sorted(set(by_topic) | set(channels)):
        ch = channels.get(topic, {})
        topics.append({
            "topic": topic,
            "schema_name": ch.get("schema_name"),
            "encoding": ch.get("encoding"),
            "message_count": ch.get("message_count"),
            "rate_hz": finite(ch.get("rate_hz")),
            "signals": sorted(by_topic.get(topic, []), key=lambda s: s.get("path", "")),
        })
    return SignalTree.model_validate({"run_id": run_id, "topics": topics})


def signal_keys(signals: list[str], most: int) -> list[str]:
    """`topic:path` keys, comma-separated or repeated, each once; 422 for none or too many."""
    keys = list(dict.fromkeys(k.strip() for item in signals for k in item.split(",") if k.strip()))
    if not keys:
        raise invalid("signals", "name at least one signal")
    if len(keys) > most:
        raise rule("signals", f"at most {most} signals per request")
    return keys


async def series(
    res: Resources, cache: ManifestCache, run_id: str, who: Principal, signals: list[str],
    start: float | None, end: float | None, max_points: int,
) -> SeriesResponse:
    keys = signal_keys(signals, MAX_SIGNALS)
    if start is not None and end is not None and end < start:
        raise rule("end", "end is before start", value=end)
    doc = await find_run(res, run_id, who, {"status": 1, "laps": 1, "origin_ns": 1})
    if doc.get("status") == "rejected":
        raise not_found(f"run {run_id!r} was rejected: it has no signals")
    catalogue = await signalinfo.current(res)
    order = {k: i for i, k in enumerate(keys)}
    math_keys = [k for k in keys if k.startswith(MATH_PREFIX)]
    keys = [k for k in keys if not k.startswith(MATH_PREFIX)]
    try:
        origin, found = await asyncio.to_thread(
            read_series, res.store, cache, run_id, keys, start, end, max_points,
            catalogue.aliases(k.partition("[")[0] for k in keys),
        ) if keys else (None, [])
    except FilterError as exc:  # a key this run does not have
        raise rule(exc.field, str(exc)) from None
    except NoSignalStore:
        raise not_found(f"run {run_id!r} has no stored signals") from None
    if math_keys:
        math_origin, values = await mathvalues.series_of(res, cache, doc, run_id, math_keys, start, end, max_points)
        found += values
        origin = origin if origin is not None else math_origin
        found.sort(key=lambda f: order.get(f["key"], 0))
    stored = {f["stored_key"] or f["key"]: f for f in found if not f["key"].startswith(MATH_PREFIX)}
    bases = {k: k.partition("[")[0] for k in stored}
    schema = {bases[k]: signalinfo.enum_states(f["enum_names"]) for k, f in stored.items() if f["enum_names"]}
    info = await signalinfo.for_run_id(res, catalogue, run_id, set(bases.values()), schema,
                                       ("series", *sorted(set(bases.values()))))
    for key, f in stored.items():
        f.update(signalinfo.facts(info.get(bases[key])))
    return SeriesResponse(run_id=run_id, origin_ns=origin, start=start, end=end,
                          max_points=max_points, signals=found)
