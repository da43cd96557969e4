"""Decode all messages of one protobuf channel into columns, in place.

`ProtobufJob` allocates every column of the channel up front in one zeroed buffer
(rows known, narrow native types), lets the compiled kernel fill row ranges (possibly
on several threads: rows are disjoint), then turns the buffer into `Signal`s with numpy
views: no Python per value except one `str` per distinct string.

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


class ProtobufJob:
    def __init__(self, program: Program, buf: np.ndarray, moff: np.ndarray, mlen: np.ndarray):
        self.program = program
        self.buf = buf
        self.moff = moff
        self.mlen = mlen
        n = int(moff.shape[0])
        self.n = n
        ent = program.ent.copy()
        self.byte_base: dict[int, int] = {}
        total = 0
        for i, leaf in enumerate(program.leaves):
            if leaf.repeated:
                continue
            self.byte_base[i] = total
            ent[leaf.entry, K.E_BASE] = total // leaf.width if leaf.width != 16 else total // 8
            # Keep every column 8-byte aligned so the 32/64-bit views line up.
            total += (n * leaf.width + 7) & ~7
        self.ent = ent
        self.out = np.zeros(max(total, 8), dtype=np.uint8)
        self.out32 = self.out.view(np.uint32)
        self.out64 = self.out.view(np.uint64)
        for i, leaf in enumerate(program.leaves):
            if leaf.repeated or leaf.kind == "string" or not leaf.default:
                continue
            self._column(i, leaf)[:] = leaf.default
        self.oneof_case = np.zeros((program.n_oneof, n), dtype=np.int32)
        self.valid = np.ones(n, dtype=np.uint8)
        self.parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    def _column(self, i: int, leaf: Leaf) -> np.ndarray:
        b = self.byte_base[i]
        return self.out[b : b + self.n * leaf.width].view(_dtype(leaf.kind))

    def split(self, parts: int) -> list[tuple[int, int]]:
        """Row ranges of about equal message bytes, for parallel decoding."""
        if parts <= 1 or self.n < 4096:
            return [(0, self.n)]
        cum = np.cumsum(self.mlen)
        cuts = np.searchsorted(cum, cum[-1] * np.arange(1, parts) / parts)
        edges = [0, *sorted({int(c) for c in cuts if 0 < c < self.n}), self.n]
        return list(itertools.pairwise(edges))

    def run(self, kern: ModuleType, r0: int, r1: int) -> None:
        """Decode rows r0..r1-1 (releases the GIL; ranges must not overlap)."""
        if r1 <= r0:
            return
        cap = 0
        if self.program.n_rep:
            cap = int(self.mlen[r0:r1].sum()) // 4 + 64
        n_rep, rows, cols, vals = kern.decode_messages(
            self.buf, self.moff, self.mlen, r0, r1,
            self.ent, self.program.node_lo, self.program.node_hi, self.program.enum_vals,
            self.out, self.out32, self.out64, self.oneof_case, self.valid, cap,
        )  # fmt: skip
        if n_rep:
            self.parts.append((r0, rows[:n_rep], cols[:n_rep], vals[:n_rep]))

    def finish(self, kern: ModuleType) -> ChannelResult:
        n = self.n
        invalid = n - int(np.count_nonzero(self.valid))
        keep = self.valid.view(np.bool_) if invalid else None
        notes: list[tuple[str, str, int]] = []
        signals: dict[str, Signal] = {}
        self.parts.sort(key=lambda p: p[0])
        rep_rows = np.concatenate([p[1] for p in self.parts]) if self.parts else None
        rep_cols = np.concatenate([p[2] for p in self.parts]) if self.parts else None
        rep_vals = np.concatenate([p[3] for p in self.parts]) if self.parts else None
        for i, leaf in enumerate(self.program.leaves):
            member = self._oneof_mask(leaf)
            if leaf.repeated:
                values, dropped = self._repeated(leaf, rep_rows, rep_cols, rep_vals, member)
                if dropped:
                    notes.append((leaf.path, "repeated values past the width cap dropped", dropped))
            elif leaf.kind == "string":
                values = self._strings(kern, i, leaf, member)
            else:
                values = self._column(i, leaf)
                if member is not None:
                    values[~member] = leaf.default
            if keep is not None:
                values = values[keep]
            signals[leaf.path] = Signal(
                leaf.path, leaf.kind, values, repeated=leaf.repeated, enum_names=leaf.enum_names
            )
        return ChannelResult(signals, keep, invalid, notes)

    def _oneof_mask(self, leaf: Leaf) -> np.ndarray | None:
        if not leaf.oneof_chain:
            return None
        mask = np.ones(self.n, dtype=np.bool_)
        for slot, fnum in leaf.oneof_chain:
            mask &= self.oneof_case[slot] == fnum
        return mask

    def _strings(
        self, kern: ModuleType, i: int, leaf: Leaf, member: np.ndarray | None
    ) -> np.ndarray:
        n = self.n
        base = self.byte_base[i] // 8
        pairs = self.out64[base : base + 2 * n].reshape(n, 2)
        if member is not None:
            pairs[~member, 1] = 0
        hashes = np.empty(n, dtype=np.uint64)
        kern.hash_strings(self.buf, self.out64, base, n, hashes)
        uniq, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        first = first.astype(np.int64)
        rows = np.arange(n, dtype=np.int64)
        if not kern.strings_match(self.buf, self.out64, base, rows, first[inverse]):
            return self._strings_slow(pairs, leaf)
        default = leaf.default if isinstance(leaf.default, str) else ""
        texts: list[str] = []
        for h, r in zip(uniq.tolist(), first.tolist(), strict=True):
            if h == 0:
                texts.append(default)
            else:
                off, ln = int(pairs[r, 0]), int(pairs[r, 1]) - 1
                texts.append(_text(self.buf[off : off + ln]))
        table = np.empty(len(texts), dtype=object)
        table[:] = texts
        return table[inverse.reshape(-1)]

    def _strings_slow(self, pairs: np.ndarray, leaf: Leaf) -> np.ndarray:
        """Hash collision fallback: one dict lookup per row."""
        default = leaf.default if isinstance(leaf.default, str) else ""
        seen: dict[bytes, str] = {}
        out = np.empty(self.n, dtype=object)
        for r in range(self.n):
            ln = int(pairs[r, 1])
            if ln == 0:
                out[r] = default
                continue
            off = int(pairs[r, 0])
            raw = self.buf[off : off + ln - 1].tobytes()
            text = seen.get(raw)
            if text is None:
                text = seen[raw] = _text(raw)
            out[r] = text
        return out

    def _repeated(
        self,
        leaf: Leaf,
        rows: np.ndarray | None,
        cols: np.ndarray | None,
        vals: np.ndarray | None,
        member: np.ndarray | None,
    ) -> tuple[np.ndarray, int]:
        n = self.n
        if rows is None or cols is None or vals is None:
            return np.full((n, 0), np.nan), 0
        sel = cols == leaf.rep_col
        r = rows[sel].astype(np.int64)
        v = vals[sel]
        if member is not None and r.size:
            inside = member[r]
            r, v = r[inside], v[inside]
        if r.size == 0:
            return np.full((n, 0), np.nan), 0
        counts = np.bincount(r, minlength=n)
        # Values of a row are contiguous and rows ascend (the kernel walks rows in
        # order, threads take consecutive row ranges), so a value's index in its row
        # is its position minus where the row starts.
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
