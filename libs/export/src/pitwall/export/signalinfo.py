"""What each exported signal is (unit, description, state names), in every format's terms.

The info comes in as the catalogue's `SignalInfo` dicts keyed `topic:path` (resolved by
query_api for the converter, by `pitwall convert --can` on a laptop). What the info does
not give falls back to the MCAP's own schema, as the catalogue ranks it last too: the
protobuf enum names on the Signal, a JSON schema's `unit`/`description`
(`TopicColumns.schema_info`); so an export made without any catalogue keeps them. The
catalogue package is only named for types: importing it loads cantools, and `pitwall
convert` keeps its start-up light.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pitwall.common.columns import Recording
from pitwall.export.matvalue import MatValue, StrCell, str_column

if TYPE_CHECKING:
    from pitwall.common.contracts.signalinfo import SignalInfo
    from pitwall.export.layout import MapRow

SIGNAL_MAP_COLUMNS = ("source_path", "mat_path", "unit", "description")
SIGNALS_CSV_COLUMNS = ("key", "column", "unit", "description", "states")


@dataclass(frozen=True, slots=True)
class Facts:
    """One signal's unit, description and states (code order), '' / () when unknown."""

    unit: str = ""
    description: str = ""
    states: tuple[tuple[int, str], ...] = ()

    def states_json(self) -> str:
        """The states as a JSON object, codes as decimal strings (as SignalInfo holds them)."""
        return json.dumps({str(code): name for code, name in self.states}, ensure_ascii=False) if self.states else ""

    def field_metadata(self) -> dict[bytes, bytes]:
        """Parquet/Arrow field metadata: only the facts that are known."""
        out = {b"unit": self.unit, b"description": self.description, b"states": self.states_json()}
        return {k: v.encode() for k, v in out.items() if v}


NO_FACTS = Facts()


def _states(info: Mapping[str, object]) -> tuple[tuple[int, str], ...]:
    raw = info.get("states")
    if not isinstance(raw, Mapping):
        return ()
    out: dict[int, str] = {}
    for code, name in raw.items():
        try:
            out[int(code)] = str(name)
        except (TypeError, ValueError):  # a hand-made request may carry anything
            continue
    return tuple(sorted(out.items()))


def signal_key(topic: str, path: str) -> str:
    """The catalogue's key of a signal: its topic's name (`TopicColumns.topic`, never the
    reader's `topic#channel` of a topic written by two channels) and its field path."""
    return f"{topic}:{path}"


def describe(rec: Recording, info: Mapping[str, SignalInfo]) -> dict[str, Facts]:
    """The facts of every signal of `rec` that has any, by key `topic:path`."""
    out: dict[str, Facts] = {}
    for tc in rec.topics.values():
        for sig in tc.signals.values():
            key = signal_key(tc.topic, sig.path)
            given: Mapping[str, object] = info.get(key) or {}
            schema = tc.schema_info.get(sig.path) or {}
            states = _states(given) or tuple(sorted((sig.enum_names or {}).items()))
            unit = str(given.get("unit") or schema.get("unit") or "")
            description = str(given.get("description") or schema.get("description") or "")
            facts = Facts(unit, description, states)
            if facts != NO_FACTS:
                out[key] = facts
    return out


def signal_map(rows: list[MapRow], facts: Mapping[str, Facts]) -> StrCell:
    """The MAT `signal_map`: N x 4 cell {source_path, mat_path, unit, description}."""
    cells: list[str] = []
    for row in rows:
        f = facts.get(row.key, NO_FACTS)
        cells += [row.source, row.mat_path, f.unit, f.description]
    if not cells:
        return StrCell(np.empty((0, len(SIGNAL_MAP_COLUMNS)), dtype=object))
    return str_column(cells, len(SIGNAL_MAP_COLUMNS))


def states_struct(rows: list[MapRow], facts: Mapping[str, Facts]) -> dict[str, MatValue]:
    """`meta.states`: for each signal with state names, a struct at the same field path as
    its data (`meta.states.VNData.mode` for `VNData.mode`; pairs: `meta.states.VNData.mode`
    for `data.VNData.mode`) with `codes` (K x 1 int32) and `names` (K x 1 cell of char)."""
    root: dict[str, MatValue] = {}
    for row in rows:
        states = facts.get(row.key, NO_FACTS).states
        if not states:
            continue
        node = root
        for part in row.leaf[:-1]:
            child = node.setdefault(part, {})
            assert isinstance(child, dict)  # leaf paths of a layout never pass through a leaf
            node = child
        node[row.leaf[-1]] = {
            "codes": np.array([code for code, _ in states], dtype=np.int32),
            "names": str_column([name for _, name in states]),
        }
    return root


def enum_rows(rec: Recording, facts: Mapping[str, Facts]) -> list[tuple[str, int, str]]:
    """`meta.enums` rows (signal key, code, name) for every signal with states, in the
    recording's order."""
    return [
        (f"{topic}:{sig.path}", code, name)
        for topic, tc in rec.topics.items()
        for sig in tc.signals.values()
        for code, name in facts.get(signal_key(tc.topic, sig.path), NO_FACTS).states
    ]


def signals_csv(columns: list[tuple[str, str]], facts: Mapping[str, Facts]) -> str:
    """`signals.csv` of a CSV zip: one row per signal column (key, column as headed in its
    data CSV, unit, description, states as JSON)."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SIGNALS_CSV_COLUMNS)
    for key, column in columns:
        f = facts.get(key, NO_FACTS)
        writer.writerow((key, column, f.unit, f.description, f.states_json()))
    return buf.getvalue()
