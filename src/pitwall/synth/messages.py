"""Encode every message of a topic at once: schema + columns -> protobuf wire bytes.

Columns are keyed by dotted leaf path (`vn_gps.lat`); a sub-message path may map to a
`Presence` to leave the whole sub-message out of some messages.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from pitwall.synth import wire
from pitwall.synth.schemas import SCALAR_TYPES, FieldDef, MessageDef, ProtoFile
from pitwall.synth.signals import Column, Presence, RowLists, Strings

_INT_RANGE: dict[str, tuple[int, int]] = {
    "int32": (-(2**31), 2**31 - 1),
    "sint32": (-(2**31), 2**31 - 1),
    "sfixed32": (-(2**31), 2**31 - 1),
    "enum": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "fixed32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "sint64": (-(2**63), 2**63 - 1),
    "sfixed64": (-(2**63), 2**63 - 1),
}


def typed(values: npt.ArrayLike, proto_type: str) -> np.ndarray:
    """Values as the numpy type of `proto_type`: integers rounded and clamped to range."""
    arr = np.asarray(values)
    if proto_type == "double":
        return arr.astype(np.float64)
    if proto_type == "float":
        return arr.astype(np.float32)
    if proto_type == "bool":
        return arr.astype(bool)
    if proto_type in ("uint64", "fixed64"):
        if arr.dtype.kind == "u":
            return arr.astype(np.uint64)
        return np.clip(np.rint(arr.astype(np.float64)), 0, 2.0**64 - 2048).astype(np.uint64)
    lo, hi = _INT_RANGE[proto_type]
    if arr.dtype.kind in "iub":
        return np.clip(arr.astype(np.int64), lo, hi)
    return np.clip(np.rint(arr.astype(np.float64)), lo, hi).astype(np.int64)


def encode(
    file: ProtoFile, message: MessageDef, columns: Mapping[str, Column], n: int, prefix: str = ""
) -> wire.Ragged:
    parts = [
        _field(file, fd, columns, n, prefix + fd.name)
        for fd in sorted(message.fields, key=lambda f: f.number)
    ]
    parts = [p for p in parts if p.data.size or p.lengths.any()]
    return wire.concat_rows(parts) if parts else wire.Ragged.empty(n)


def _field(
    file: ProtoFile, fd: FieldDef, columns: Mapping[str, Column], n: int, path: str
) -> wire.Ragged:
    if fd.type in SCALAR_TYPES or file.resolve(fd.type)[0] == "enum":
        proto_type = fd.type if fd.type in SCALAR_TYPES else "enum"
        value = columns[path]
        if proto_type == "string":
            if not isinstance(value, Strings) or fd.repeated:
                raise TypeError(f"{path}: a singular string needs a Strings column")
            return wire.string_field(fd.number, value.table, value.codes)
        if fd.repeated:
            return _repeated(fd, proto_type, value, path)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{path}: expected an array, got {type(value).__name__}")
        return wire.scalar_field(fd.number, proto_type, typed(value, proto_type))
    _, owner, definition = file.resolve(fd.type)
    assert isinstance(definition, MessageDef)
    child = encode(owner, definition, columns, n, path + ".")
    presence = columns.get(path)
    mask = presence.mask if isinstance(presence, Presence) else None
    return wire.length_delimited(fd.number, child, mask)


def _repeated(fd: FieldDef, proto_type: str, value: Column, path: str) -> wire.Ragged:
    fixed = proto_type in wire.FIXED_DTYPE
    if isinstance(value, RowLists):
        if fixed:
            raise TypeError(f"{path}: ragged fixed-width rows are not supported")
        return wire.packed_varint_rows(
            fd.number, proto_type, typed(value.flat, proto_type), value.counts
        )
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        raise TypeError(f"{path}: a repeated field needs an N x K array or RowLists")
    if fixed:
        matrix = typed(value, proto_type)
        if fd.packed:
            return wire.packed_fixed(fd.number, proto_type, matrix)
        return wire.unpacked_fixed(fd.number, proto_type, matrix)
    n, k = value.shape
    return wire.packed_varint_rows(
        fd.number, proto_type, typed(value, proto_type).reshape(-1), np.full(n, k, dtype=np.int64)
    )
