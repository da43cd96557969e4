"""An export request checked against the runs' signals, and the names of its files.

The signal list ingest stored for each run decides both: a glob (or topic regex) that
selects nothing is refused by name (422) before any work is queued, and the download is
named after the run, what it selects and the window (`pitwall.common.exportnames`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pitwall.common import exportnames
from pitwall.common.selection import Selection, no_match
from pitwall.query_api import readmodel
from pitwall.query_api.errors import invalid
from pitwall.query_api.resources import Resources

# The run document fields `names` reads.
RUN_FIELDS = {"filename": 1, "setup.event_type": 1, "start_ns": 1}


@dataclass(frozen=True, slots=True)
class ExportNames:
    download: str  # the export's file, without suffix
    runs: dict[str, str]  # run id -> its file inside a zip of several runs


async def _signals_by_run(res: Resources, runs: list[str]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {r: [] for r in runs}
    cursor = readmodel.signals(res).find({"run_id": {"$in": runs}}, {"_id": 0, "run_id": 1, "topic": 1, "path": 1})
    async for doc in cursor:
        found[doc["run_id"]].append((str(doc.get("topic", "")), str(doc.get("path", ""))))
    return found


def check_selection(
    selection: Selection, signals: dict[str, list[tuple[str, str]]],
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """422 naming each glob (or the topic regex) that selects no signal of any of the runs.

    Checked only when every run has its signal list: a run without one (no readable
    signal) would make every glob look unmatched."""
    if not all(signals.values()):
        return
    every = [pair for pairs in signals.values() for pair in pairs]
    where = "this run" if len(signals) == 1 else f"any of these {len(signals)} runs"
    # A topic regex that lets nothing through is the mistake to name, not every glob.
    if selection.topics is not None and Selection(topics=selection.topics).unmatched(every):
        raise invalid("topics", no_match([selection.topics], where), location="body", value=selection.topics)
    missing = selection.unmatched(every)
    # A renamed signal is asked under all its names: one of them found is enough.
    found = {f"{t}:{p}" for t, p in every}
    groups = {name: [key, *others] for key, others in (aliases or {}).items() for name in (key, *others)}
    missing = tuple(m for m in missing if not any(n in found for n in groups.get(m, ())))
    if missing:
        raise invalid("signals", no_match(missing, where), location="body", value=list(missing))


async def export_names(
    res: Resources,
    runs: list[dict[str, Any]],
    selection: Selection,
    start_s: float | None,
    end_s: float | None,
    resample_hz: float | None,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> ExportNames:
    """Check the selection against the runs (see `check_selection`), then name the files."""
    ids = [doc["_id"] for doc in runs]
    signals = await _signals_by_run(res, ids)
    check_selection(selection, signals, aliases)
    everything = selection.topics is None and not selection.signals
    names: dict[str, str] = {}
    union: set[tuple[str, str]] = set()
    for doc in runs:
        label = exportnames.run_label(
            filename=doc.get("filename"),
            event_type=(doc.get("setup") or {}).get("event_type"),
            start_ns=doc.get("start_ns"),
            fallback=doc["_id"][:12],
        )
        chosen = [(t, p) for t, p in signals[doc["_id"]] if selection.wants_signal(t, p)]
        union.update(chosen)
        part = exportnames.selection_part(chosen, everything)
        names[doc["_id"]] = exportnames.export_stem(label, part, start_s, end_s, resample_hz)
    if len(runs) == 1:
        return ExportNames(names[ids[0]], names)
    whole = exportnames.export_stem(
        f"pitwall-{len(runs)}-runs", exportnames.selection_part(union, everything), start_s, end_s, resample_hz
    )
    return ExportNames(whole, names)
