"""The MAT layouts of a Recording: `struct` (the contract) and `pairs` (the team's legacy).

struct: one top-level struct per topic, named by the rule (`naming`); in it `t` (N x 1
double, seconds since the single origin) and every leaf at the struct path mirroring the
message (`VNData.vn_gps.lat`), in its native MATLAB type. A topic whose name maps onto
`signal_map` or `meta` gets the collision suffix (`meta_2`), and a message field that maps
onto `t` at the top of a topic gets `t_2`.

pairs: `data.<topic>.<leaf>` = N x 2 double `[t value]`, the leaf being the field path
joined with `_`. A repeated field gives one pair per element, `<leaf>_1` .. `<leaf>_K`
(1-based, as MATLAB indexes). Strings have no numeric value: they are left out and listed
in `meta.skipped`. 64-bit integers beyond 2^53 lose precision in a double (the layout's
nature); the struct layout keeps them exact.

Both give `signal_map`: rows `{source_path, mat_path}` with source_path `topic:field.path`
(a repeated element `field[i]`, 0-based) and mat_path the MATLAB expression reading it.
Each row also knows its signal key (`topic:field.path`, the catalogue's key) and the
field names of its leaf (`leaf`: the mat path without `data.` or a column index), which
`signalinfo` uses to describe the signal under the same path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from pitwall.common.columns import NUMPY_DTYPE, Recording, Signal, Skipped, TopicColumns
from pitwall.common.exportformats import Layout
from pitwall.export.matvalue import MatValue, StrCell
from pitwall.export.naming import allocate
from pitwall.export.signalinfo import signal_key
from pitwall.export.timebase import origin_of, seconds_since

RESERVED_TOP_LEVEL = ("signal_map", "meta")


class MapRow(NamedTuple):
    source: str  # topic:field.path, a repeated element topic:field.path[i]
    mat_path: str  # the MATLAB expression reading the column
    key: str  # the signal's catalogue key (`signalinfo.signal_key`; a repeated field's elements share it)
    leaf: tuple[str, ...]  # field names down to the leaf: (topic var, field, ..., leaf)


@dataclass(slots=True)
class MatLayout:
    variables: dict[str, MatValue]  # top-level variables, signal_map and meta excluded
    signal_map: list[MapRow]
    topic_names: dict[str, str]  # topic -> MATLAB name (of the variable or `data` field)
    skipped: list[Skipped] = field(default_factory=list)


def leaf_values(sig: Signal) -> MatValue:
    """A signal's column in its MATLAB type (strings: an N x 1 cell of char)."""
    if sig.kind == "string":
        return StrCell(np.asarray(sig.values, dtype=object))
    if sig.repeated:
        return np.asarray(sig.values, dtype=np.float64)
    return np.asarray(sig.values, dtype=NUMPY_DTYPE[sig.kind])


class _Level:
    """One struct level of a topic: entries in schema order; a name can be a leaf and a
    branch at once (JSON), so entries are a list, not a dict."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Signal | _Level]] = []
        self._branches: dict[str, _Level] = {}

    def add(self, parts: list[str], sig: Signal) -> None:
        head = parts[0]
        if len(parts) == 1:
            self.entries.append((head, sig))
            return
        branch = self._branches.get(head)
        if branch is None:
            branch = self._branches[head] = _Level()
            self.entries.append((head, branch))
        branch.add(parts[1:], sig)


def _fill(
    level: _Level,
    topic: str,
    topic_name: str,
    prefix: tuple[str, ...],
    into: dict[str, MatValue],
    smap: list[MapRow],
    reserved: tuple[str, ...] = (),
) -> None:
    names = allocate([src for src, _ in level.entries], reserved=reserved)
    for (_, node), name in zip(level.entries, names, strict=True):
        parts = (*prefix, name)
        mat_path = ".".join(parts)
        if isinstance(node, _Level):
            sub: dict[str, MatValue] = {}
            _fill(node, topic, topic_name, parts, sub, smap)
            into[name] = sub
            continue
        into[name] = leaf_values(node)
        key = signal_key(topic_name, node.path)
        source = f"{topic}:{node.path}"
        if node.repeated:
            for i in range(node.width):
                smap.append(MapRow(f"{source}[{i}]", f"{mat_path}(:,{i + 1})", key, parts))
        else:
            smap.append(MapRow(source, mat_path, key, parts))


def struct_layout(rec: Recording) -> MatLayout:
    origin = origin_of(rec)
    topics = list(rec.topics)
    names = allocate(topics, reserved=RESERVED_TOP_LEVEL)
    variables: dict[str, MatValue] = {}
    smap: list[MapRow] = []
    for topic, name in zip(topics, names, strict=True):
        tc = rec.topics[topic]
        root = _Level()
        for sig in tc.signals.values():
            root.add(sig.path.split("."), sig)
        struct: dict[str, MatValue] = {"t": seconds_since(tc.log_time_ns, origin)}
        _fill(root, topic, tc.topic, (name,), struct, smap, reserved=("t",))
        variables[name] = struct
    return MatLayout(variables, smap, dict(zip(topics, names, strict=True)))


def _pairs_topic(
    tc: TopicColumns, t: np.ndarray, topic_var: str, smap: list[MapRow]
) -> tuple[dict[str, MatValue], list[Skipped]]:
    skipped: list[Skipped] = []
    # (leaf source name, source path, signal path, column)
    wanted: list[tuple[str, str, str, np.ndarray]] = []
    for sig in tc.signals.values():
        base = sig.path.replace(".", "_")
        if sig.kind == "string":
            skipped.append(
                Skipped(
                    f"{tc.topic}:{sig.path}", "string signal: the pairs layout holds numbers only"
                )
            )
        elif sig.repeated:
            for i in range(sig.width):
                wanted.append((f"{base}_{i + 1}", f"{sig.path}[{i}]", sig.path, sig.values[:, i]))
        else:
            wanted.append((base, sig.path, sig.path, sig.values))
    names = allocate([w[0] for w in wanted], sources=[w[1] for w in wanted])
    out: dict[str, MatValue] = {}
    for (_, source, path, column), name in zip(wanted, names, strict=True):
        # Fortran order: the writers then stream [t; value] without a transposed copy.
        pair = np.empty((t.shape[0], 2), dtype=np.float64, order="F")
        pair[:, 0] = t
        pair[:, 1] = column
        out[name] = pair
        key = signal_key(tc.topic, path)
        smap.append(MapRow(f"{tc.topic}:{source}", f"data.{topic_var}.{name}(:,2)", key, (topic_var, name)))
    return out, skipped


def pairs_layout(rec: Recording) -> MatLayout:
    origin = origin_of(rec)
    topics = list(rec.topics)
    names = allocate(topics)
    data: dict[str, MatValue] = {}
    smap: list[MapRow] = []
    skipped: list[Skipped] = []
    for topic, name in zip(topics, names, strict=True):
        tc = rec.topics[topic]
        t = seconds_since(tc.log_time_ns, origin)
        data[name], notes = _pairs_topic(tc, t, name, smap)
        skipped += notes
    return MatLayout({"data": data}, smap, dict(zip(topics, names, strict=True)), skipped)


def build_layout(rec: Recording, layout: Layout) -> MatLayout:
    if layout == "struct":
        return struct_layout(rec)
    if layout == "pairs":
        return pairs_layout(rec)
    raise ValueError(f"unknown layout {layout!r} (struct or pairs)")
