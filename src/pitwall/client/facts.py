"""Units and state names beside the values: from the API's JSON and from a MAT export.

The API writes state codes as decimal strings (JSON object keys); a user compares them with
the integer values of a signal, so they become ints here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

States = dict[int, str]
_ELEMENT = re.compile(r"\(:,\d+\)$")


def states_of(body: Mapping[str, Any]) -> States | None:
    """A signal's state names, code -> name: the catalogue's `states`, else the MCAP's
    protobuf `enum_names` (an older API sends only those)."""
    raw = body.get("states") or body.get("enum_names")
    if not isinstance(raw, Mapping) or not raw:
        return None
    out: States = {}
    for code, name in raw.items():
        try:
            out[int(code)] = str(name)
        except (TypeError, ValueError):
            continue
    return dict(sorted(out.items())) or None


def known(values: Mapping[str, Any | None]) -> dict[str, Any]:
    """Only the entries that are known: `attrs["units"].get(col)` is None for the rest."""
    return {k: v for k, v in values.items() if v}


class TopicFields(dict[str, np.ndarray]):
    """One topic of `Client.load`: field (its MAT path below the topic) -> values, with
    `.units` and `.states` of the fields that have them (a repeated field's elements share
    one entry under the field's name)."""

    units: dict[str, str]
    states: dict[str, States]

    def __init__(self, fields: Mapping[str, np.ndarray], units: Mapping[str, str] | None = None,
                 states: Mapping[str, States] | None = None) -> None:
        super().__init__(fields)
        self.units = dict(units or {})
        self.states = dict(states or {})


def _text(cell: Any) -> str:
    """One cell of a MAT cell array of char, as scipy loads it ('' loads as an empty array)."""
    if isinstance(cell, np.ndarray):
        return str(cell.flat[0]) if cell.size else ""
    return str(cell)


def _field(struct: Any, name: str) -> Any:
    """A field of a loaded MAT struct (a 1 x 1 object array around scipy's mat_struct), or None."""
    if isinstance(struct, np.ndarray):
        if struct.dtype != object or struct.size != 1:
            return None
        struct = struct.flat[0]
    return getattr(struct, name, None) if hasattr(struct, "_fieldnames") else None


def _states_at(root: Any, parts: list[str]) -> States | None:
    """`meta.states` holds `codes` and `names` at the data's own field path."""
    node = root
    for part in parts:
        node = _field(node, part)
        if node is None:
            return None
    codes, names = _field(node, "codes"), _field(node, "names")
    if codes is None or names is None:
        return None
    return {int(c): _text(n) for c, n in zip(np.ravel(codes), np.ravel(names), strict=True)} or None


def mat_facts(mat: Mapping[str, Any]) -> dict[str, tuple[dict[str, str], dict[str, States]]]:
    """Per top-level variable of a struct-layout MAT export: (units, states) by field path
    below it, read from `signal_map` (source_path, mat_path, unit, description) and
    `meta.states`. An export made before units existed has a 2-column signal_map: no units."""
    smap = mat.get("signal_map")
    out: dict[str, tuple[dict[str, str], dict[str, States]]] = {}
    if not isinstance(smap, np.ndarray) or smap.ndim != 2 or smap.shape[0] == 0:
        return out
    meta = mat.get("meta")
    root = _field(meta, "states") if meta is not None else None
    for row in smap:
        mat_path = _ELEMENT.sub("", _text(row[1]))
        variable, _, field = mat_path.partition(".")
        if not field:
            continue
        units, states = out.setdefault(variable, ({}, {}))
        unit = _text(row[2]) if smap.shape[1] > 2 else ""
        if unit:
            units[field] = unit
        named = _states_at(root, mat_path.split(".")) if root is not None else None
        if named:
            states[field] = named
    return out
