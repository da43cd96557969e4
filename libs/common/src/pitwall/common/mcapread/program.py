"""From a protobuf schema and a selection to the field table the decode kernel runs.

The message type is unrolled per field path (two fields of the same message type are
two separate nodes, so each leaf has its own column), nested messages are flattened to
dotted leaf paths, and only selected leaves get an action: everything else is skipped
by wire type without being decoded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from pitwall.common.columns import Kind
from pitwall.common.mcapread import consts as K
from pitwall.common.selection import Selection

# Nested messages deeper than this, or a message type recurring more than twice on one
# path (recursive schemas), are skipped and reported instead of unrolled forever.
MAX_NEST = 16
MAX_TYPE_REPEAT = 2

_WIRE_TYPE = {
    K.T_DOUBLE: 1, K.T_FLOAT: 5, K.T_INT64: 0, K.T_UINT64: 0, K.T_INT32: 0,
    K.T_FIXED64: 1, K.T_FIXED32: 5, K.T_BOOL: 0, K.T_STRING: 2, K.T_MESSAGE: 2,
    K.T_BYTES: 2, K.T_UINT32: 0, K.T_ENUM: 0, K.T_SFIXED32: 5, K.T_SFIXED64: 1,
    K.T_SINT32: 0, K.T_SINT64: 0, K.T_GROUP: 3,
}  # fmt: skip

# Protobuf type -> (column kind, bytes per row in the scalar arena).
_SCALAR: dict[int, tuple[Kind, int]] = {
    K.T_DOUBLE: ("double", 8),
    K.T_FLOAT: ("single", 4),
    K.T_INT32: ("int32", 4),
    K.T_SINT32: ("int32", 4),
    K.T_SFIXED32: ("int32", 4),
    K.T_UINT32: ("uint32", 4),
    K.T_FIXED32: ("uint32", 4),
    K.T_INT64: ("int64", 8),
    K.T_SINT64: ("int64", 8),
    K.T_SFIXED64: ("int64", 8),
    K.T_UINT64: ("uint64", 8),
    K.T_FIXED64: ("uint64", 8),
    K.T_BOOL: ("logical", 1),
    K.T_ENUM: ("enum", 4),
    K.T_STRING: ("string", 16),
}


class SchemaError(ValueError):
    """A schema that cannot drive decoding (bad FileDescriptorSet, missing type)."""


def _one_line(exc: object, limit: int = 160) -> str:
    """An exception as a short printable line (protobuf quotes damaged bytes back)."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(exc)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(slots=True)
class Leaf:
    path: str
    kind: Kind
    ptype: int
    repeated: bool
    default: Any
    enum_names: dict[int, str] | None
    width: int  # bytes per row in the scalar arena; 0 for repeated leaves
    rep_col: int = -1
    # (oneof slot, member field number) of every oneof on the way to this leaf: the
    # leaf only holds a value in rows where each of those members was the last set.
    oneof_chain: tuple[tuple[int, int], ...] = ()
    entry: int = -1  # row of the field table that writes this leaf


@dataclass(slots=True)
class Program:
    message_name: str
    ent: np.ndarray  # int64 [entries, E_NCOLS], base column filled per decode
    node_lo: np.ndarray
    node_hi: np.ndarray
    enum_vals: np.ndarray
    leaves: list[Leaf]  # selected leaves in schema order
    n_oneof: int
    n_rep: int
    # (path, reason) of selected fields that are not exported.
    unsupported: list[tuple[str, str]] = field(default_factory=list)


# Channels of one file often carry the same FileDescriptorSet (every message type of
# the car in one set) under different message names: build each set's pool once.
# A set that does not build is remembered by its reason, never as the exception: its
# traceback holds the frames (and through them the buffers) of the read that met it,
# and every re-raise would add the next read's (found by fuzzing: each read of a file
# with a bad schema kept its decoder alive for good).
_pools: dict[bytes, descriptor_pool.DescriptorPool | str] = {}


def _pool_of(data: bytes) -> descriptor_pool.DescriptorPool:
    got = _pools.get(data)
    if got is None:
        try:
            got = _build_pool(data)
        except SchemaError as exc:
            got = str(exc)
        if len(_pools) > 64:
            _pools.clear()
        _pools[data] = got
    if isinstance(got, str):
        raise SchemaError(got)
    return got


def _build_pool(data: bytes) -> descriptor_pool.DescriptorPool:
    try:
        fds = descriptor_pb2.FileDescriptorSet.FromString(data)
    except Exception as exc:  # the protobuf runtime raises its own DecodeError
        raise SchemaError(f"schema is not a valid FileDescriptorSet ({_one_line(exc)})") from exc
    names = Counter(fd.name for fd in fds.file)
    dup = [n for n, c in names.items() if c > 1]
    if dup:
        raise SchemaError(f"FileDescriptorSet holds {_one_line(dup[0])} more than once")
    pool = descriptor_pool.DescriptorPool()
    pending = {fd.name: fd for fd in fds.file}

    def add(fd: descriptor_pb2.FileDescriptorProto, seen: set[str]) -> None:
        seen.add(fd.name)
        for dep in fd.dependency:
            if dep in pending and dep not in seen:
                add(pending.pop(dep), seen)
        pool.Add(fd)

    try:
        while pending:
            add(pending.popitem()[1], set())
    except Exception as exc:
        raise SchemaError(f"cannot build the schema's descriptors ({_one_line(exc)})") from exc
    return pool


def load_message_type(schema_name: str, data: bytes) -> Descriptor:
    """The descriptor of `schema_name` from a serialized FileDescriptorSet."""
    pool = _pool_of(data)
    try:
        return pool.FindMessageTypeByName(schema_name.lstrip("."))
    except Exception as exc:
        raise SchemaError(
            f"cannot resolve {_one_line(schema_name)} from its schema ({_one_line(exc)})"
        ) from exc


def _validates_utf8(fd: FieldDescriptor) -> bool:
    try:
        features = fd._GetFeatures()
        return bool(features.utf8_validation == descriptor_pb2.FeatureSet.VERIFY)
    except Exception:
        return False


def _is_closed_enum(fd: FieldDescriptor) -> bool:
    try:
        return bool(fd.enum_type.is_closed)
    except Exception:
        return False


@dataclass
class _Entry:
    fnum: int
    wt: int
    act: int
    ptype: int
    width: int = 0
    child: _Node | None = None
    enum_values: tuple[int, ...] = ()
    oneof_slot: int = -1
    utf8: bool = False
    leaf: Leaf | None = None


@dataclass
class _Node:
    entries: list[_Entry]
    id: int = -1


class _Builder:
    def __init__(self, topic: str, selection: Selection | None) -> None:
        self.topic = topic
        self.selection = selection
        self.leaves: list[Leaf] = []
        self.unsupported: list[tuple[str, str]] = []
        self.n_oneof = 0
        self.n_rep = 0

    def wanted(self, path: str) -> bool:
        return self.selection is None or self.selection.wants_signal(self.topic, path)

    def node(
        self,
        desc: Descriptor,
        prefix: str,
        depth: int,
        types_on_path: Counter[str],
        chain: tuple[tuple[int, int], ...],
    ) -> _Node | None:
        """The node for a message at `prefix`, or None when nothing under it is wanted."""
        entries: list[_Entry] = []
        slots: dict[str, int] = {}
        selected_any = False
        for fd in desc.fields:
            path = prefix + fd.name
            oneof = fd.containing_oneof
            slot = -1
            # A oneof of one field (proto3 `optional`) never clears anything.
            if oneof is not None and len(oneof.fields) > 1:
                if oneof.full_name not in slots:
                    slots[oneof.full_name] = self.n_oneof
                    self.n_oneof += 1
                slot = slots[oneof.full_name]
            leaf_chain = (*chain, (slot, fd.number)) if slot >= 0 else chain
            entry = self.field(fd, path, depth, types_on_path, leaf_chain)
            if entry is None:
                if slot >= 0:
                    # Unselected oneof members still displace the selected ones.
                    entry = _Entry(fd.number, _WIRE_TYPE.get(fd.type, 2), K.ACT_SKIP, fd.type)
                else:
                    continue
            else:
                selected_any = True
            entry.oneof_slot = slot
            entries.append(entry)
        if not selected_any:
            return None
        entries.sort(key=lambda e: e.fnum)
        return _Node(entries)

    def field(
        self,
        fd: FieldDescriptor,
        path: str,
        depth: int,
        types_on_path: Counter[str],
        chain: tuple[tuple[int, int], ...],
    ) -> _Entry | None:
        ptype = fd.type
        if ptype == K.T_MESSAGE:
            if fd.is_repeated:
                self.report(path, "repeated message field not exported", fd.message_type)
                return None
            sub = fd.message_type
            if depth + 1 >= MAX_NEST or types_on_path[sub.full_name] >= MAX_TYPE_REPEAT:
                self.report(path, "nested too deep (recursive message) not exported", sub)
                return None
            types_on_path[sub.full_name] += 1
            try:
                child = self.node(sub, path + ".", depth + 1, types_on_path, chain)
            finally:
                types_on_path[sub.full_name] -= 1
            if child is None:
                return None
            return _Entry(fd.number, 2, K.ACT_NESTED, ptype, child=child)
        if not self.wanted(path):
            return None
        if ptype == K.T_GROUP:
            self.report(path, "group field not exported")
            return None
        if ptype == K.T_BYTES:
            self.report(path, "bytes field not exported")
            return None
        kind, width = _SCALAR[ptype]
        enum_names = None
        enum_values: tuple[int, ...] = ()
        if ptype == K.T_ENUM:
            enum_names = {v.number: v.name for v in fd.enum_type.values}
            if _is_closed_enum(fd):
                enum_values = tuple(sorted({v.number for v in fd.enum_type.values}))
        if fd.is_repeated:
            if ptype == K.T_STRING:
                self.report(path, "repeated string field not exported")
                return None
            leaf = Leaf(path, "double", ptype, True, float("nan"), enum_names, 0, self.n_rep, chain)
            self.n_rep += 1
            self.leaves.append(leaf)
            return _Entry(
                fd.number, _WIRE_TYPE[ptype], K.ACT_REPEATED, ptype,
                enum_values=enum_values, leaf=leaf,
            )  # fmt: skip
        default = fd.default_value
        leaf = Leaf(path, kind, ptype, False, default, enum_names, width, -1, chain)
        self.leaves.append(leaf)
        act = K.ACT_STRING if ptype == K.T_STRING else K.ACT_SCALAR
        return _Entry(
            fd.number, _WIRE_TYPE[ptype], act, ptype, width=width,
            enum_values=enum_values, utf8=ptype == K.T_STRING and _validates_utf8(fd), leaf=leaf,
        )  # fmt: skip

    def report(self, path: str, reason: str, sub: Descriptor | None = None) -> None:
        """Note a selected field that is not exported.

        For a message field (`sub`), it counts as selected when any leaf below it is.
        """
        if sub is None:
            if self.wanted(path):
                self.unsupported.append((path, reason))
            return
        if self.wanted(path) or any(self.wanted(p) for p in _leaf_paths(sub, path + ".", 0)):
            self.unsupported.append((path, reason))


def _leaf_paths(desc: Descriptor, prefix: str, depth: int) -> list[str]:
    """Non-message field paths below a message, a few levels deep (for reporting)."""
    out: list[str] = []
    for fd in desc.fields:
        if fd.type == K.T_MESSAGE:
            if depth < 4:
                out.extend(_leaf_paths(fd.message_type, prefix + fd.name + ".", depth + 1))
        else:
            out.append(prefix + fd.name)
    return out


def build_program(desc: Descriptor, topic: str, selection: Selection | None = None) -> Program:
    b = _Builder(topic, selection)
    root = b.node(desc, "", 0, Counter({desc.full_name: 1}), ())
    nodes: list[_Node] = []
    if root is None:
        root = _Node([])
    # Breadth-first numbering: node 0 is the message itself.
    queue = [root]
    while queue:
        n = queue.pop(0)
        n.id = len(nodes)
        nodes.append(n)
        queue.extend(e.child for e in n.entries if e.child is not None)
    rows: list[list[int]] = []
    enum_vals: list[int] = []
    node_lo = np.zeros(len(nodes), np.int64)
    node_hi = np.zeros(len(nodes), np.int64)
    for n in nodes:
        node_lo[n.id] = len(rows)
        for e in n.entries:
            lo = len(enum_vals)
            enum_vals.extend(e.enum_values)
            row = [0] * K.E_NCOLS
            row[K.E_FNUM] = e.fnum
            row[K.E_WT] = e.wt
            row[K.E_ACT] = e.act
            row[K.E_PTYPE] = e.ptype
            row[K.E_W] = e.width
            row[K.E_BASE] = 0
            row[K.E_CHILD] = e.child.id if e.child is not None else -1
            row[K.E_ENUM_LO] = lo
            row[K.E_ENUM_HI] = len(enum_vals)
            row[K.E_ONEOF] = e.oneof_slot
            row[K.E_UTF8] = int(e.utf8)
            row[K.E_REPCOL] = e.leaf.rep_col if e.leaf is not None else -1
            if e.leaf is not None:
                e.leaf.entry = len(rows)
            rows.append(row)
        node_hi[n.id] = len(rows)
    ent = np.array(rows, dtype=np.int64).reshape(len(rows), K.E_NCOLS)
    return Program(
        message_name=desc.full_name,
        ent=np.ascontiguousarray(ent),
        node_lo=node_lo,
        node_hi=node_hi,
        enum_vals=np.array(enum_vals, dtype=np.int64),
        leaves=b.leaves,
        n_oneof=b.n_oneof,
        n_rep=b.n_rep,
        unsupported=b.unsupported,
    )
