"""A math channel's values on one run, from the run's signal store (blocking: run in a thread).

Every raw signal the channel needs (through the math channels it uses, too) is read in one
pass over the window, then `pitwall.common.mathchannels.evaluate` aligns and computes. A
signal the run lacks makes the channel absent for that run (`Unavailable`, with the reason).
"""

from __future__ import annotations

from collections.abc import Mapping

from pitwall.common.mathchannels import MATH_PREFIX, Evaluated, Expression, MissingSignal, Series, evaluate
from pitwall.common.mathchannels.check import evaluation_order
from pitwall.common.storage import ObjectStore
from pitwall.query_api.queries import FilterError
from pitwall.query_api.series import ManifestCache, open_run, parse_refs, ref_values


def raw_references(name: str, definitions: Mapping[str, Expression]) -> list[str]:
    """The recorded signals `math:<name>` reads, through every math channel it uses."""
    keys: dict[str, None] = {}
    for used in evaluation_order(definitions, [name]):
        keys.update((k, None) for k in definitions[used].references if not k.startswith(MATH_PREFIX))
    return list(keys)


def evaluate_on_run(
    store: ObjectStore, manifests: ManifestCache, run_id: str, name: str, definitions: Mapping[str, Expression],
    start: float | None, end: float | None, states: Mapping[str, Mapping[int, str]] | None = None,
    laps: list[dict[str, float]] | None = None,
) -> tuple[int | None, Evaluated]:
    """(the run's time origin, `math:<name>` on the run); `states` gives the catalogue's state
    names by key (else the recording's own enum names count)."""
    run = open_run(store, manifests, run_id)
    present = set(run.keys())
    wanted = raw_references(name, definitions)
    refs = []
    for key in wanted:
        if key.partition("[")[0] not in present:
            continue  # evaluate raises MissingSignal for it, with its position
        try:
            refs += parse_refs([key], run.manifest)
        except FilterError as exc:  # a text signal, a repeated field without an index
            raise MissingSignal(key) from exc
    rec = run.read(refs, start, end) if refs else None
    found: dict[str, Series] = {}
    for ref in refs:
        assert rec is not None
        t, v, sig = ref_values(rec, ref)
        names = (states or {}).get(ref.text) or sig.enum_names
        found[ref.text] = Series(t, v, sig.kind, dict(names) if names else None)
    origin = rec.origin_ns if rec is not None else None
    return origin, evaluate(definitions[name], found.get, start, end, laps=laps, definitions=definitions)
