"""A lap comparison as the API asks for it: the picks parsed, each run looked up (the
caller must be allowed to see it, and it must have signals), then `compare` aligns them."""

from __future__ import annotations

import asyncio
from typing import Any

from pitwall.query_api.auth import Principal
from pitwall.query_api.compare import compare, parse_laps
from pitwall.query_api.domain import signalinfo
from pitwall.query_api.domain.runs import find_run
from pitwall.query_api.errors import not_found, rule
from pitwall.query_api.models import CompareResponse, finite
from pitwall.query_api.queries import FilterError
from pitwall.query_api.resources import Resources
from pitwall.query_api.series import ManifestCache, NoSignalStore

MAX_SIGNALS = 8
# What `compare` reads of each run document.
RUN_FIELDS = {
    "filename": 1, "setup": 1, "laps": 1, "status": 1,
    "track.topic": 1, "track.lat_path": 1, "track.lon_path": 1, **signalinfo.RUN_FIELDS,
}


async def compare_laps(
    res: Resources, cache: ManifestCache, who: Principal, laps: str, signals: str, x: str,
    points: int, ref: int,
) -> CompareResponse:
    try:
        picks = parse_laps(laps)
    except FilterError as exc:
        raise rule(exc.field, str(exc), value=laps) from None
    if ref >= len(picks):
        raise rule("ref", f"there are {len(picks)} laps (0-{len(picks) - 1})", value=ref)
    keys = list(dict.fromkeys(k.strip() for k in signals.split(",") if k.strip()))
    if len(keys) > MAX_SIGNALS:
        raise rule("signals", f"at most {MAX_SIGNALS} signals per comparison")
    docs: dict[str, dict[str, Any]] = {}
    for run_id in dict.fromkeys(p.run_id for p in picks):
        doc = await find_run(res, run_id, who, RUN_FIELDS)
        if doc.get("status") == "rejected":
            raise not_found(f"run {run_id!r} was rejected: it has no signals")
        docs[run_id] = dict(doc)
    catalogue = await signalinfo.current(res)
    aliases = catalogue.aliases(k.partition("[")[0] for k in keys)
    try:
        body = await asyncio.to_thread(compare, res.store, cache, docs, picks, keys, x, points, ref, aliases)
    except FilterError as exc:  # what the runs do not have: no such lap, no such signal
        raise rule(exc.field, str(exc)) from None
    except NoSignalStore as exc:
        raise not_found(f"run {exc.args[0]!r} has no stored signals") from None
    await _describe(res, body["signals"], docs[picks[ref].run_id], aliases)
    return CompareResponse.model_validate(finite(body))


async def _describe(
    res: Resources, signals: list[dict[str, Any]], doc: dict[str, Any], aliases: dict[str, list[str]]
) -> None:
    """Units and states of the compared signals, as the reference lap's run has them."""
    names = {s["key"]: [s["key"].partition("[")[0], *aliases.get(s["key"].partition("[")[0], [])] for s in signals}
    schema = {names[s["key"]][0]: signalinfo.enum_states(s.get("enum_names")) for s in signals}
    info = await signalinfo.for_run(res, doc, [n for ns in names.values() for n in ns], schema)
    for s in signals:
        found = next((info[n] for n in names[s["key"]] if n in info), None)
        s.update(signalinfo.facts(found))
