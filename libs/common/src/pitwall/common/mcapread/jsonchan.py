"""Decode a JSON channel (message encoding `json`) into columns.

JSON numbers become double, booleans logical, strings string, nested objects dotted
paths. The set of leaves comes from the channel's JSON schema when it names its
properties, else from the union of keys seen in the messages (first-seen order).
Arrays are not exported (reported). A leaf missing from a message (or holding a value
of another type) reads as NaN / false / "". A message that is not a JSON object is
dropped and counted. These channels are rare and small, so this is plain Python.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from pitwall.common.columns import Kind, Signal
from pitwall.common.mcapread.records import SchemaRecord
from pitwall.common.selection import Selection

try:  # orjson is optional: about 3x faster on large channels
    import orjson

    _loads: Any = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

_MAX_DEPTH = 16


def schema_leaves(schema: Any, prefix: str, depth: int, out: dict[str, Kind | None]) -> None:
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict) or depth > _MAX_DEPTH:
        return
    for name, sub in props.items():
        path = prefix + str(name)
        if not isinstance(sub, dict):
            continue
        types = sub.get("type")
        if isinstance(types, list):
            types = next((t for t in types if t != "null"), None)
        if types == "object" or (types is None and "properties" in sub):
            schema_leaves(sub, path + ".", depth + 1, out)
        elif types in ("number", "integer"):
            out[path] = "double"
        elif types == "boolean":
            out[path] = "logical"
        elif types == "string":
            out[path] = "string"
        else:
            out[path] = None  # arrays and untyped values: not exported


def schema_facts(schema: SchemaRecord | None) -> dict[str, dict[str, str]]:
    """What a JSON schema says of each leaf: `unit` (a non-standard keyword some teams
    write) and `description`, by dotted path; empty for a schema that is not JSON schema."""
    if schema is None or schema.encoding != "jsonschema" or not schema.data:
        return {}
    try:
        doc = json.loads(schema.data)
    except (ValueError, RecursionError):
        return {}
    out: dict[str, dict[str, str]] = {}

    def walk(node: Any, prefix: str, depth: int) -> None:
        props = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(props, dict) or depth > _MAX_DEPTH:
            return
        for name, sub in props.items():
            if not isinstance(sub, dict):
                continue
            path = prefix + str(name)
            if "properties" in sub:
                walk(sub, path + ".", depth + 1)
                continue
            facts = {
                k: sub[k].strip() for k in ("unit", "description") if isinstance(sub.get(k), str) and sub[k].strip()
            }
            if facts:
                out[path] = facts

    walk(doc, "", 0)
    return out


def _value_kind(value: Any) -> Kind | None:
    if isinstance(value, bool):
        return "logical"
    if isinstance(value, int | float):
        return "double"
    if isinstance(value, str):
        return "string"
    return None


def _discover(obj: dict[str, Any], prefix: str, depth: int, out: dict[str, Kind | None]) -> None:
    for key, value in obj.items():
        path = prefix + str(key)
        if isinstance(value, dict) and depth < _MAX_DEPTH:
            _discover(value, path + ".", depth + 1, out)
        elif value is None:
            out.setdefault(path, None)
        elif out.get(path) is None:
            out[path] = _value_kind(value)


def _get(obj: dict[str, Any], keys: list[str]) -> Any:
    cur: Any = obj
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


def parse_json(raw: np.ndarray | bytes) -> dict[str, Any] | None:
    """One message as a JSON object, or None when it is not one."""
    data = raw.tobytes() if isinstance(raw, np.ndarray) else raw
    try:
        obj = _loads(data)
    except (ValueError, TypeError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def build_json_columns(
    rows: list[dict[str, Any] | None],
    schema: SchemaRecord | None,
    topic: str,
    selection: Selection | None,
) -> tuple[dict[str, Signal], int, list[tuple[str, str, int]]]:
    """Columns over all rows (None rows get defaults; the caller drops them).

    Returns (signals, rows that were not JSON objects, notes on unexported leaves).
    """
    leaves: dict[str, Kind | None] = {}
    if schema is not None and schema.encoding == "jsonschema" and schema.data:
        try:
            schema_leaves(json.loads(schema.data), "", 0, leaves)
        except (ValueError, RecursionError):
            leaves = {}
    if not leaves:
        for obj in rows:
            if obj is not None:
                _discover(obj, "", 0, leaves)
    bad = sum(1 for o in rows if o is None)
    good = len(rows) - bad
    signals: dict[str, Signal] = {}
    notes: list[tuple[str, str, int]] = []
    for path, kind in leaves.items():
        if selection is not None and not selection.wants_signal(topic, path):
            continue
        if kind is None:
            notes.append((path, "JSON array or untyped value not exported", good))
            continue
        keys = path.split(".")
        raw = [_get(o, keys) if o is not None else None for o in rows]
        values: np.ndarray
        if kind == "double":
            values = np.array(
                [
                    float(x) if isinstance(x, int | float) and not isinstance(x, bool) else np.nan
                    for x in raw
                ],
                dtype=np.float64,
            )
        elif kind == "logical":
            values = np.array([x is True for x in raw], dtype=np.bool_)
        else:
            values = np.empty(len(raw), dtype=object)
            values[:] = [x if isinstance(x, str) else "" for x in raw]
        signals[path] = Signal(path, kind, values)
    return signals, bad, notes
