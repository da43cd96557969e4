"""What each signal of a run is (unit, description, states), from the channel catalogue.

One place that turns a run document and a list of keys into `SignalInfo`s: the signal
tree, series, compare and exports all ask here, so they all say the same thing.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pitwall.common.catalogue import Catalogue, SignalInfo, states_json
from pitwall.query_api import readmodel
from pitwall.query_api.resources import Resources

# What the run document must hold for `for_run` (find_run projections add it).
RUN_FIELDS = {"start_ns": 1, "channels.topic": 1, "channels.schema_name": 1}


async def current(res: Resources) -> Catalogue:
    return await res.catalogue.get(readmodel.database(res))


def recorded_start(doc: Mapping[str, Any]) -> datetime | None:
    start = doc.get("start_ns")
    return None if start is None else datetime.fromtimestamp(start / 1e9, UTC)


def run_topics(doc: Mapping[str, Any]) -> dict[str, str | None]:
    return {c["topic"]: c.get("schema_name") for c in doc.get("channels") or [] if c.get("topic")}


def schema_of(stat: Mapping[str, Any]) -> dict[str, Any]:
    """What ingest recorded from the MCAP's own schema for a signal (its statistics document);
    runs ingested before that was recorded give the enum names of the codes they saw."""
    found = stat.get("schema")
    if isinstance(found, dict):
        return found
    codes, names = stat.get("distinct"), stat.get("distinct_names")
    if codes and names and len(codes) == len(names):
        return {"states": states_json(dict(zip(codes, names, strict=True)))}
    return {}


async def for_run(
    res: Resources, doc: Mapping[str, Any], keys: Iterable[str],
    schema: Mapping[str, Mapping[str, Any]] | None = None, catalogue: Catalogue | None = None,
) -> dict[str, SignalInfo]:
    """The info of each of `keys` of the run `doc` (a document with `RUN_FIELDS`)."""
    catalogue = catalogue or await current(res)
    if catalogue.empty and not schema:
        return {}
    return catalogue.for_run(recorded_start(doc), run_topics(doc), keys, schema)


async def for_run_id(
    res: Resources, catalogue: Catalogue, run_id: str, keys: Iterable[str],
    schema: Mapping[str, Mapping[str, Any]] | None, memo: Hashable,
) -> dict[str, SignalInfo]:
    """`for_run` for a request whose answer only the catalogue's generation changes (a run's
    signals and their schema facts never change after ingest): resolved once per generation,
    and the run's start and topics read only then."""
    if catalogue.empty and not schema:
        return {}
    found: dict[str, SignalInfo] | None = res.catalogue.recall(catalogue, (run_id, memo))
    if found is None:
        doc = await readmodel.runs(res).find_one({"_id": run_id}, RUN_FIELDS) or {}
        found = res.catalogue.remember(
            catalogue, (run_id, memo), catalogue.for_run(recorded_start(doc), run_topics(doc), keys, schema))
    return found


def enum_states(enum_names: Mapping[str, str] | None) -> dict[str, dict[str, str]]:
    """A signal's protobuf enum names (as series reports them) as schema facts."""
    return {"states": dict(enum_names)} if enum_names else {}


def facts(info: SignalInfo | None) -> dict[str, Any]:
    """The API fields of `info` (SignalFacts' names), absent ones left out."""
    return dict(info) if info else {}


async def runs_in_state(res: Resources, key: str, state: str) -> set[str]:
    """Runs whose signal `key` (under any of its names) took the named state: each run's own
    state names decide (the codes differ between CAN description versions)."""
    catalogue = await current(res)
    names = list(catalogue.names(key))
    stats = await readmodel.signals(res).find(
        {"key": {"$in": names}, "distinct": {"$exists": True}},
        {"_id": 0, "run_id": 1, "key": 1, "distinct": 1, "distinct_names": 1, "schema": 1},
    ).to_list()
    ids = list({s["run_id"] for s in stats})
    docs = {d["_id"]: d async for d in readmodel.runs(res).find({"_id": {"$in": ids}}, RUN_FIELDS)}
    wanted = state.upper()
    found: set[str] = set()
    for s in stats:
        doc = docs.get(s["run_id"])
        if doc is None or s["run_id"] in found:
            continue
        info = catalogue.for_run(recorded_start(doc), run_topics(doc), [s["key"]], {s["key"]: schema_of(s)})
        states = (info.get(s["key"]) or {}).get("states") or {}
        codes = {int(code) for code, name in states.items() if name.upper() == wanted}
        if codes & {int(c) for c in s.get("distinct") or []}:
            found.add(s["run_id"])
    return found
