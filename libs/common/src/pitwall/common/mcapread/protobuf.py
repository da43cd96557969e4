"""Decode every wanted protobuf message of a file into columns, in place, in one pass.

`ProtobufBatch` allocates every column of every decoded topic up front in one zeroed
buffer (rows known, narrow native types), then the compiled kernel walks the messages
in file order (sequential reads of the arena: measured 4x faster than decoding topic
by topic, which jumps around the arena and waits on memory), each message decoded by
its topic's field table into its row. Several threads take consecutive ranges of
messages. Columns then become `Signal`s through numpy views: no Python per value
except one `str` per distinct string.

A message that is not valid protobuf (cut varint, a length running past the message,
bad UTF-8 in a proto3 string, ...) is dropped from the columns and counted: its row
would otherwise hold a half-decoded mix of values and defaults.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
from pitwall.common.columns import NUMPY_DTYPE, Signal
from pitwall.common.mcapread import consts as K
from pitwall.common.mcapread.program import Leaf, Program

# A repeated field is N x K (K = longest row). A damaged message claiming a huge row
# must not turn that into N x huge: beyond this many cells per stored value the rows
# are cut to fit and the dropped values are reported.
_REPEATED_CELLS_PER_VALUE = 32
_REPEATED_MIN_CELLS = 1 << 22


@dataclass(slots=True)
class ChannelResult:
    signals: dict[str, Signal]
    keep: np.ndarray | None  # rows to keep (None: all), invalid messages dropped
    invalid: int
    notes: list[tuple[str, str, int]] = field(default_factory=list)  # (path, reason, count)


def _dtype(kind: str) -> np.dtype:
    return np.dtype(np.bool_) if kind == "logical" else np.dtype(NUMPY_DTYPE[kind])


@dataclass
class _Topic:
    program: Program
    rows: np.ndarray  # indices of its messages in the batch's message arrays
    n: int
    byte_base: dict[int, int]  # leaf index -> byte offset of its column in `out`
    oneof_base: int
    rep_base: int


class ProtobufBatch:
    def __init__(
        self,
        buf: np.ndarray,
        moff: np.ndarray,
        mlen: np.ndarray,
        topics: list[tuple[Program, np.ndarray]],
    ) -> None:
        """`topics`: (program, indices of its messages in moff/mlen, ascending)."""
        self.buf = buf
        self.moff = moff
        self.mlen = mlen
        n_msgs = int(moff.shape[0])
        self.mprog = np.full(n_msgs, -1, dtype=np.int32)
        self.mrow = np.zeros(n_msgs, dtype=np.int64)
        self.valid = np.ones(n_msgs, dtype=np.uint8)
        self.topics: list[_Topic] = []
        ents: list[np.ndarray] = []
        lo_parts: list[np.ndarray] = []
        hi_parts: list[np.ndarray] = []
        enum_parts: list[np.ndarray] = []
        roots: list[int] = []
        total = 0
        oneofs = 0
        reps = 0
        nodes = 0
        entries = 0
        enums = 0
        for p, (prog, rows) in enumerate(topics):
            n = int(rows.shape[0])
            self.mprog[rows] = p
            self.mrow[rows] = np.arange(n, dtype=np.int64)
            ent = prog.ent.copy()
            byte_base: dict[int, int] = {}
            for i, leaf in enumerate(prog.leaves):
                if leaf.repeated:
                    continue
                byte_base[i] = total
                ent[leaf.entry, K.E_BASE] = total // (8 if leaf.width == 16 else leaf.width)
                # Keep every column 8-byte aligned so the 32/64-bit views line up.
                total += (n * leaf.width + 7) & ~7
            # Offsets that were program-local become global in the joined table.
            if ent.shape[0]:
                nested = ent[:, K.E_CHILD] >= 0
                ent[nested, K.E_CHILD] += nodes
                ent[:, K.E_ENUM_LO] += enums
                ent[:, K.E_ENUM_HI] += enums
                has_oneof = ent[:, K.E_ONEOF] >= 0
                ent[has_oneof, K.E_ONEOF] = oneofs + ent[has_oneof, K.E_ONEOF] * n
                rep = ent[:, K.E_REPCOL] >= 0
                ent[rep, K.E_REPCOL] += reps
            self.topics.append(_Topic(prog, rows, n, byte_base, oneofs, reps))
            roots.append(nodes)
            ents.append(ent)
            lo_parts.append(prog.node_lo + entries)
            hi_parts.append(prog.node_hi + entries)
            enum_parts.append(prog.enum_vals)
            nodes += int(prog.node_lo.shape[0])
            entries += int(ent.shape[0])
            enums += int(prog.enum_vals.shape[0])
            oneofs += prog.n_oneof * n
            reps += prog.n_rep
        self.ent = np.ascontiguousarray(
            np.concatenate(ents) if ents else np.zeros((0, K.E_NCOLS), np.int64)
        )
        self.node_lo = np.concatenate(lo_parts) if lo_parts else np.zeros(0, np.int64)
        self.node_hi = np.concatenate(hi_parts) if hi_parts else np.zeros(0, np.int64)
        self.roots = np.array(roots, dtype=np.int64)
        self.enum_vals = np.concatenate(enum_parts) if enum_parts else np.zeros(0, np.int64)
        self.out = np.zeros(max(total, 8), dtype=np.uint8)
        self.out32 = self.out.view(np.uint32)
        self.out64 = self.out.view(np.uint64)
        self.oneof_case = np.zeros(max(oneofs, 1), dtype=np.int32)
        self.has_rep = reps > 0
        for t in self.topics:
            for i, leaf in enumerate(t.program.leaves):
                if not leaf.repeated and leaf.kind != "string" and leaf.default:
                    self._column(t, i, leaf)[:] = leaf.default
        self.parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self._rep: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def wanted(self) -> int:
        return sum(t.n for t in self.topics)

    def _column(self, t: _Topic, i: int, leaf: Leaf) -> np.ndarray:
        b = t.byte_base[i]
        return self.out[b : b + t.n * leaf.width].view(_dtype(leaf.kind))

    def split(self, parts: int) -> list[tuple[int, int]]:
        """Message ranges of about equal decoded bytes, for parallel decoding."""
        n = int(self.moff.shape[0])
        if parts <= 1 or n < 4096:
            return [(0, n)]
        cum = np.cumsum(np.where(self.mprog >= 0, self.mlen, 0))
        if not cum.size or cum[-1] == 0:
            return [(0, n)]
        cuts = np.searchsorted(cum, cum[-1] * np.arange(1, parts) / parts)
        edges = [0, *sorted({int(c) for c in cuts if 0 < c < n}), n]
        return list(itertools.pairwise(edges))

    def run(self, kern: ModuleType, i0: int, i1: int) -> None:
        """Decode messages i0..i1-1 (releases the GIL; ranges must not overlap)."""
        cap = 0
        if self.has_rep:
            # A first guess; the kernel stops when it is full and resumes in new arrays.
            cap = min(int(self.mlen[i0:i1].sum()) // 8 + 1024, 1 << 24)
        while i0 < i1:
            rows = np.empty(cap, np.int32)
            cols = np.empty(cap, np.int32)
            vals = np.empty(cap, np.float64)
            n_rep, nxt = kern.decode_messages(
                self.buf, self.moff, self.mlen, self.mprog, self.mrow, i0, i1,
                self.ent, self.node_lo, self.node_hi, self.roots, self.enum_vals,
                self.out, self.out32, self.out64, self.oneof_case, self.valid,
                rows, cols, vals,
            )  # fmt: skip
            if n_rep:
                self.parts.append((i0, rows[:n_rep], cols[:n_rep], vals[:n_rep]))
            if nxt <= i0 and n_rep == 0:
                cap = max(2 * cap, 1024)  # one message holds more values than fit
            i0 = nxt

    def finish(self, kern: ModuleType, index: int) -> ChannelResult:
        """The columns of topic `index` (in the order given to the constructor)."""
        t = self.topics[index]
        valid = self.valid[t.rows]
        invalid = t.n - int(np.count_nonzero(valid))
        keep = valid.view(np.bool_) if invalid else None
        notes: list[tuple[str, str, int]] = []
        signals: dict[str, Signal] = {}
        for i, leaf in enumerate(t.program.leaves):
            member = self._oneof_mask(t, leaf)
            values: np.ndarray
            if leaf.repeated:
                values, dropped = self._repeated(kern, t, leaf, member)
                if dropped:
                    notes.append((leaf.path, "repeated values past the width cap dropped", dropped))
            elif leaf.kind == "string":
                values = self._strings(kern, t, i, leaf, member)
            else:
                values = self._column(t, i, leaf)
                if member is not None:
                    values[~member] = leaf.default
            if keep is not None:
                values = values[keep]
            signals[leaf.path] = Signal(
                leaf.path, leaf.kind, values, repeated=leaf.repeated, enum_names=leaf.enum_names
            )
        return ChannelResult(signals, keep, invalid, notes)

    def _oneof_mask(self, t: _Topic, leaf: Leaf) -> np.ndarray | None:
        if not leaf.oneof_chain:
            return None
        mask = np.ones(t.n, dtype=np.bool_)
        for slot, fnum in leaf.oneof_chain:
            base = t.oneof_base + slot * t.n
            mask &= self.oneof_case[base : base + t.n] == fnum
        return mask

    def _strings(
        self, kern: ModuleType, t: _Topic, i: int, leaf: Leaf, member: np.ndarray | None
    ) -> np.ndarray:
        n = t.n
        base = t.byte_base[i] // 8
        pairs = self.out64[base : base + 2 * n].reshape(n, 2)
        if member is not None:
            pairs[~member, 1] = 0
        inverse = np.empty(n, dtype=np.int64)
        first = np.empty(n, dtype=np.int64)
        # Most string columns hold a handful of distinct values: start with a small
        # table (a big one costs more to clear than the strings cost to hash).
        cap = 4096
        while True:
            k = kern.intern_strings(self.buf, self.out64, base, n, inverse, first, cap)
            if k >= 0:
                break
            cap = max(cap * 16, 16)
        default = leaf.default if isinstance(leaf.default, str) else ""
        texts: list[str] = [default]  # id -1 (absent) maps to the default
        for r in first[:k].tolist():
            off, ln = int(pairs[r, 0]), int(pairs[r, 1]) - 1
            texts.append(_text(self.buf[off : off + ln]))
        table = np.empty(len(texts), dtype=object)
        table[:] = texts
        return table[inverse + 1]

    def _all_repeated(self, kern: ModuleType) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Repeated values grouped by column (row order kept), and column start offsets."""
        if self._rep is None:
            self.parts.sort(key=lambda p: p[0])
            n_cols = max((t.rep_base + t.program.n_rep for t in self.topics), default=0)
            if self.parts:
                rows = np.concatenate([p[1] for p in self.parts])
                cols = np.concatenate([p[2] for p in self.parts])
                vals = np.concatenate([p[3] for p in self.parts])
                order = np.empty(rows.shape[0], np.int64)
                kern.order_by_column(cols, n_cols, order)
                rows, vals = rows[order], vals[order]
                starts = np.zeros(n_cols + 1, np.int64)
                np.cumsum(np.bincount(cols, minlength=n_cols), out=starts[1:])
            else:
                rows = np.zeros(0, np.int32)
                vals = np.zeros(0, np.float64)
                starts = np.zeros(n_cols + 1, np.int64)
            self._rep = (rows, vals, starts)
        return self._rep

    def _repeated(
        self, kern: ModuleType, t: _Topic, leaf: Leaf, member: np.ndarray | None
    ) -> tuple[np.ndarray, int]:
        n = t.n
        rows, vals, starts = self._all_repeated(kern)
        col = t.rep_base + leaf.rep_col
        a, b = int(starts[col]), int(starts[col + 1])
        r = rows[a:b].astype(np.int64)
        v = vals[a:b]
        if member is not None and r.size:
            inside = member[r]
            r, v = r[inside], v[inside]
        if r.size == 0:
            return np.full((n, 0), np.nan), 0
        counts = np.bincount(r, minlength=n)
        # A row's values are contiguous and rows ascend (the kernel walks messages in
        # file order, threads take consecutive ranges, parts are joined in order), so
        # a value's index in its row is its position minus where the row starts.
        starts = np.cumsum(counts) - counts
        idx = np.arange(r.size, dtype=np.int64) - starts[r]
        width = int(counts.max())
        cells = max(_REPEATED_CELLS_PER_VALUE * int(r.size), _REPEATED_MIN_CELLS)
        dropped = 0
        if n * width > cells:
            width = max(1, cells // max(n, 1))
            fits = idx < width
            dropped = int(r.size - np.count_nonzero(fits))
            r, v, idx = r[fits], v[fits], idx[fits]
        out = np.full((n, width), np.nan)
        out[r, idx] = v
        return out, dropped


def _text(raw: bytes | np.ndarray) -> str:
    data = raw.tobytes() if isinstance(raw, np.ndarray) else raw
    # Invalid UTF-8 only reaches here for proto2 strings (proto3 ones are validated by
    # the kernel and drop the message); the official decoder hands those out as bytes.
    return data.decode("utf-8", errors="replace")
