"""Decode batches of messages into per-topic columns.

Each batch's wanted protobuf messages are decoded by one compiled pass in file order
(sequential reads of the batch arena; decoding topic by topic jumps around it and waits
on memory: measured 4x slower), every message by its topic's field table into a row of
a batch-local scratch buffer, on several threads (consecutive message ranges). The
scratch columns are then copied into each topic's final columns, which are sized from
the message counts the container found up front and grow only when those were wrong.
Strings become ids into a per-column table of distinct values (one `str` per distinct
value, not per row); repeated values go straight into an N x K matrix per field that
widens when a longer row turns up.

A message that is not valid protobuf (cut varint, a length running past the message,
bad UTF-8 in a proto3 string, ...) is dropped from the columns and counted: its row
would otherwise hold a half-decoded mix of values and defaults.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google.protobuf.descriptor import Descriptor

from pitwall.common.columns import NUMPY_DTYPE, Signal, Skipped, TopicColumns
from pitwall.common.mcapread import _kernels as kernels
from pitwall.common.mcapread import consts as K
from pitwall.common.mcapread.container import Batch, Definitions, Messages
from pitwall.common.mcapread.errors import McapReadError
from pitwall.common.mcapread.jsonchan import build_json_columns, parse_json, schema_facts
from pitwall.common.mcapread.program import Program, SchemaError, build_program, load_message_type
from pitwall.common.mcapread.records import ChannelRecord, SchemaRecord
from pitwall.common.selection import Selection

# A repeated field is N x K (K = longest row). A damaged message claiming a huge row
# must not turn that into N x huge: beyond this many cells per stored value the rows
# are cut to fit and the dropped values are reported.
_REPEATED_CELLS_PER_VALUE = 32
_REPEATED_MIN_CELLS = 1 << 22

_desc_cache: dict[tuple[str, bytes], Descriptor] = {}


def descriptor(schema: SchemaRecord) -> Descriptor:
    key = (schema.name, schema.data)
    desc = _desc_cache.get(key)
    if desc is None:
        desc = load_message_type(schema.name, schema.data)
        if len(_desc_cache) > 256:
            _desc_cache.clear()
        _desc_cache[key] = desc
    return desc


def _dtype(kind: str) -> np.dtype:
    return np.dtype(np.bool_) if kind == "logical" else np.dtype(NUMPY_DTYPE[kind])


def _grow(arr: np.ndarray, n: int, need: int) -> np.ndarray:
    """`arr` with room for `need` rows (its first `n` rows kept; the rest unset)."""
    if need <= arr.shape[0]:
        return arr
    new = np.empty((need, *arr.shape[1:]), dtype=arr.dtype)
    new[:n] = arr[:n]
    return new


@dataclass
class _Topic:
    key: str
    topic: str
    encoding: str  # "protobuf" | "json"
    schema: SchemaRecord | None
    first_channel: int
    n: int = 0
    cap: int = 0
    times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    valid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))
    program: Program | None = None
    # protobuf: leaf index -> final column (numbers) or ids (strings)
    columns: dict[int, np.ndarray] = field(default_factory=dict)
    # strings: leaf index -> (distinct texts, text -> id)
    texts: dict[int, tuple[list[str], dict[bytes, int]]] = field(default_factory=dict)
    # repeated: leaf index -> N x K matrix (NaN padded; K grows with the longest row)
    repeated: dict[int, np.ndarray] = field(default_factory=dict)
    rep_values: dict[int, int] = field(default_factory=dict)  # values stored so far
    rep_dropped: dict[int, int] = field(default_factory=dict)
    json_rows: list[Any] = field(default_factory=list)

    def reserve(self, need: int) -> None:
        if need <= self.cap:
            return
        cap = max(need, 2 * self.cap, 64)
        try:
            self._resize(cap)
        except MemoryError:
            try:
                self._resize(need)  # no headroom, just what is needed now
            except MemoryError:
                raise McapReadError(
                    f"not enough memory for the {self.topic} columns ({need} rows)"
                ) from None

    def _resize(self, cap: int) -> None:
        self.times = _grow(self.times, self.n, cap)
        self.valid = _grow(self.valid, self.n, cap)
        for i, col in self.columns.items():
            self.columns[i] = _grow(col, self.n, cap)
        for i, mat in self.repeated.items():
            self.repeated[i] = _widen(mat, self.n, cap, mat.shape[1])
        self.cap = cap

    def store_repeated(self, i: int, r0: int, n: int, rows: np.ndarray, vals: np.ndarray) -> None:
        """Put one batch's values of repeated leaf i (local rows, ascending) in place."""
        if not rows.size:
            return
        counts = np.bincount(rows, minlength=n)
        # A row's values are contiguous and rows ascend (messages in file order, threads
        # on consecutive ranges joined in order, a stable sort by column), so a value's
        # index in its row is its position minus where the row starts.
        starts = np.cumsum(counts) - counts
        idx = np.arange(rows.size, dtype=np.int64) - starts[rows]
        mat = self.repeated[i]
        width = max(int(counts.max()), mat.shape[1])
        self.rep_values[i] = self.rep_values.get(i, 0) + int(rows.size)
        # A damaged message claiming a huge row must not make N x huge: cap the cells
        # relative to the values actually stored.
        cells = max(_REPEATED_CELLS_PER_VALUE * self.rep_values[i], _REPEATED_MIN_CELLS)
        width = max(min(width, cells // max(self.cap, 1)), mat.shape[1])
        if width > mat.shape[1]:
            mat = self.repeated[i] = _widen(mat, self.n, self.cap, width)
        fits = idx < width
        if not fits.all():
            self.rep_dropped[i] = self.rep_dropped.get(i, 0) + int(
                rows.size - np.count_nonzero(fits)
            )
            rows, vals, idx = rows[fits], vals[fits], idx[fits]
        mat[r0 + rows, idx] = vals


class Decoder:
    def __init__(
        self,
        defs: Definitions,
        selection: Selection,
        skipped: list[Skipped],
        pool: Executor | None,
        threads: int,
        expected: dict[int, int] | None = None,
    ) -> None:
        self.defs = defs
        self.sel = selection
        self.skipped = skipped
        self.pool = pool
        self.threads = threads
        self.expected = expected or {}
        self.topics: dict[str, _Topic] = {}
        self.slot_of_chan = np.full(1 << 16, -2, dtype=np.int32)  # -2 unseen, -1 not wanted
        self.order: list[_Topic] = []  # slot -> topic
        self.undefined: dict[int, int] = {}
        self.chan_counts = np.zeros(1 << 16, np.int64)
        # (what, reason, channel or -1 for the topic's rows): counted in finish().
        self.notes: list[tuple[str, str, int]] = []
        self.time_min: int | None = None
        self._table_dirty = True
        self._static: tuple[Any, ...] | None = None
        self._scratch = np.zeros(8, np.uint8)

    # -- channels -> topics --------------------------------------------------------------

    def learn(self, batch: Batch) -> None:
        for schema in batch.schemas:
            self.defs.schemas.setdefault(schema.id, schema)
        for channel in batch.channels:
            self.defs.channels.setdefault(channel.id, channel)

    def _resolve(self, cid: int) -> int:
        """Topic slot of a channel (-1: not wanted or undecodable)."""
        ch = self.defs.channel(cid)
        if ch is None:
            return -2
        slot = self._add(cid, ch)
        self.slot_of_chan[cid] = slot
        return slot

    def _add(self, cid: int, ch: ChannelRecord) -> int:
        if not self.sel.may_want_signals_of(ch.topic):
            return -1
        schema = self.defs.schema(ch.schema_id)
        enc = ch.message_encoding
        same = self.topics.get(ch.topic)
        if same is not None and same.encoding == enc and _same_schema(same.schema, schema):
            same.reserve(same.cap + self.expected.get(cid, 0))
            return self.order.index(same)
        key = ch.topic if same is None else f"{ch.topic}#{cid}"
        t = _Topic(key, ch.topic, enc, schema, cid)
        if enc == "protobuf":
            if schema is None or schema.encoding != "protobuf":
                self._skip(ch.topic, "protobuf channel without a protobuf schema", cid)
                return -1
            try:
                prog = build_program(descriptor(schema), ch.topic, self.sel)
            except SchemaError as exc:
                self._skip(ch.topic, str(exc), cid)
                return -1
            t.program = prog
            for path, reason in prog.unsupported:
                self.notes.append((f"{ch.topic}:{path}", reason, -1))
            if self.sel.signals and not prog.leaves:
                return -1
        elif enc != "json":
            self._skip(ch.topic, f"message encoding {enc!r} is not supported", cid)
            return -1
        if t.program is not None:
            for i, leaf in enumerate(t.program.leaves):
                if leaf.repeated:
                    t.repeated[i] = np.full((0, 0), np.nan)
                elif leaf.kind == "string":
                    t.columns[i] = np.zeros(0, np.int32)
                    t.texts[i] = ([], {})
                else:
                    t.columns[i] = np.zeros(0, _dtype(leaf.kind))
        t.reserve(self.expected.get(cid, 0))
        self.topics[key] = t
        self.order.append(t)
        self._table_dirty = True
        return len(self.order) - 1

    def _skip(self, topic: str, reason: str, cid: int) -> None:
        self.notes.append((topic, reason, cid))

    # -- batches ---------------------------------------------------------------------------

    def feed(self, batch: Batch, window: tuple[int | None, int | None] | None = None) -> None:
        """Decode one batch. `window` (absolute log times) drops messages outside it."""
        self.learn(batch)
        msgs = batch.messages
        if not len(msgs):
            return
        self.chan_counts += np.bincount(msgs.chan, minlength=1 << 16)
        tmin = int(msgs.time.min())
        self.time_min = tmin if self.time_min is None else min(self.time_min, tmin)
        for cid in np.unique(msgs.chan).tolist():
            if self.slot_of_chan[cid] == -2:
                self._resolve(cid)  # stays -2 while the channel is undefined
        slots = self.slot_of_chan[msgs.chan]
        undefined = slots == -2
        if undefined.any():
            ids, n = np.unique(msgs.chan[undefined], return_counts=True)
            for cid, k in zip(ids.tolist(), n.tolist(), strict=True):
                self.undefined[cid] = self.undefined.get(cid, 0) + k
            slots = np.where(undefined, -1, slots)
        if window is not None:
            lo, hi = window
            if lo is not None:
                slots = np.where(msgs.time < lo, -1, slots)
            if hi is not None:
                slots = np.where(msgs.time > hi, -1, slots)
        slots = slots.astype(np.int32)
        counts = np.bincount(slots[slots >= 0], minlength=len(self.order))
        if not counts.any():
            return
        # Rows of this batch, per topic, in file order.
        order = np.argsort(
            slots.astype(np.int16) if len(self.order) < 32000 else slots, kind="stable"
        )
        bounds = np.concatenate(
            ([0], np.cumsum(np.bincount(slots + 1, minlength=len(self.order) + 1)))
        )
        idx_of: dict[int, np.ndarray] = {}
        for s in np.nonzero(counts)[0].tolist():
            idx_of[s] = order[bounds[s + 1] : bounds[s + 2]]
        proto = [s for s in idx_of if self.order[s].encoding == "protobuf"]
        if proto:
            self._decode_protobuf(batch, msgs, slots, counts, idx_of, proto)
        for s, idx in idx_of.items():
            t = self.order[s]
            if t.encoding == "json":
                t.reserve(t.n + len(idx))
                t.times[t.n : t.n + len(idx)] = msgs.time[idx]
                t.valid[t.n : t.n + len(idx)] = True
                for off, ln in zip(msgs.off[idx].tolist(), msgs.length[idx].tolist(), strict=True):
                    t.json_rows.append(parse_json(batch.arena[off : off + ln]))
                t.n += len(idx)

    def _static_table(self) -> tuple[Any, ...]:
        """The field tables of all protobuf topics joined; rebuilt when topics appear."""
        if self._static is not None and not self._table_dirty:
            return self._static
        ents, los, his, enums, roots = [], [], [], [], []
        leaf_entry, leaf_slot, leaf_width = [], [], []
        entry_slot, entry_oneof = [], []
        nodes = entries = n_enum = reps = 0
        rep_base = np.zeros(len(self.order), np.int64)
        for s, t in enumerate(self.order):
            prog = t.program
            roots.append(nodes)
            if prog is None:
                continue
            ent = prog.ent.copy()
            if ent.shape[0]:
                nested = ent[:, K.E_CHILD] >= 0
                ent[nested, K.E_CHILD] += nodes
                ent[:, K.E_ENUM_LO] += n_enum
                ent[:, K.E_ENUM_HI] += n_enum
                rep = ent[:, K.E_REPCOL] >= 0
                ent[rep, K.E_REPCOL] += reps
            for leaf in prog.leaves:
                if not leaf.repeated:
                    leaf_entry.append(entries + leaf.entry)
                    leaf_slot.append(s)
                    leaf_width.append(leaf.width)
            entry_slot.extend([s] * ent.shape[0])
            entry_oneof.extend(prog.ent[:, K.E_ONEOF].tolist())
            rep_base[s] = reps
            ents.append(ent)
            los.append(prog.node_lo + entries)
            his.append(prog.node_hi + entries)
            enums.append(prog.enum_vals)
            nodes += int(prog.node_lo.shape[0])
            entries += int(ent.shape[0])
            n_enum += int(prog.enum_vals.shape[0])
            reps += prog.n_rep
        cat = np.concatenate
        self._static = (
            np.ascontiguousarray(cat(ents)) if ents else np.zeros((0, K.E_NCOLS), np.int64),
            cat(los) if los else np.zeros(0, np.int64),
            cat(his) if his else np.zeros(0, np.int64),
            np.array(roots, np.int64),
            cat(enums) if enums else np.zeros(0, np.int64),
            np.array(leaf_entry, np.int64),
            np.array(leaf_slot, np.int64),
            np.array(leaf_width, np.int64),
            np.array(entry_slot, np.int64),
            np.array(entry_oneof, np.int64),
            rep_base,
            reps,
        )
        self._table_dirty = False
        return self._static

    def _decode_protobuf(
        self,
        batch: Batch,
        msgs: Messages,
        slots: np.ndarray,
        counts: np.ndarray,
        idx_of: dict[int, np.ndarray],
        proto: list[int],
    ) -> None:
        (ent0, node_lo, node_hi, roots, enum_vals, leaf_entry, leaf_slot, leaf_width,
         entry_slot, entry_oneof, rep_base, n_rep_cols) = self._static_table()  # fmt: skip
        n_slots = len(self.order)
        counts = np.pad(counts, (0, max(0, n_slots - counts.shape[0])))
        is_proto = np.zeros(n_slots, np.bool_)
        is_proto[proto] = True
        mprog = np.where(is_proto[np.maximum(slots, 0)] & (slots >= 0), slots, -1).astype(np.int32)
        mrow = np.zeros(len(msgs), np.int64)
        for s in proto:
            mrow[idx_of[s]] = np.arange(idx_of[s].shape[0], dtype=np.int64)
        # Batch-local layout: each scalar column gets rows for this batch, 8-aligned.
        ent = ent0.copy()
        sizes = (counts[leaf_slot] * leaf_width + 7) & ~7
        starts = np.cumsum(sizes) - sizes
        units = np.where(leaf_width == 16, 8, leaf_width)
        ent[leaf_entry, K.E_BASE] = starts // np.maximum(units, 1)
        total = int(sizes.sum())
        n_oneof = np.array([t.program.n_oneof if t.program else 0 for t in self.order], np.int64)
        oneof_sizes = n_oneof * counts
        oneof_start = np.cumsum(oneof_sizes) - oneof_sizes
        has = entry_oneof >= 0
        ent[has, K.E_ONEOF] = (
            oneof_start[entry_slot[has]] + entry_oneof[has] * counts[entry_slot[has]]
        )
        if self._scratch.shape[0] < total + 8:
            grown = (total + 8) * 5 // 4
            self._scratch = np.zeros(0, np.uint8)  # let the old one go first
            self._scratch = np.empty(grown, np.uint8)
        out = self._scratch[: ((total + 8) // 8) * 8]
        out[:] = 0
        oneof_case = np.zeros(max(int(oneof_sizes.sum()), 1), np.int32)
        valid = np.ones(len(msgs), np.uint8)
        byte_start = {
            (int(leaf_slot[j]), int(leaf_entry[j])): int(starts[j]) for j in range(len(leaf_entry))
        }
        # Non-zero defaults (proto2 `[default = ...]`, enums whose first value is not 0).
        entry_base = {}
        for s in proto:
            t = self.order[s]
            assert t.program is not None
            base_entry = int(np.searchsorted(entry_slot, s))
            entry_base[s] = base_entry
            for leaf in t.program.leaves:
                if not leaf.repeated and leaf.kind != "string" and leaf.default:
                    b = byte_start[(s, base_entry + leaf.entry)]
                    out[b : b + int(counts[s]) * leaf.width].view(_dtype(leaf.kind))[:] = (
                        leaf.default
                    )
        parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        buf = batch.arena
        has_rep = n_rep_cols > 0

        def run(rng: tuple[int, int]) -> None:
            i0, i1 = rng
            cap = min(int(msgs.length[i0:i1].sum()) // 8 + 1024, 1 << 24) if has_rep else 0
            while i0 < i1:
                rows = np.empty(cap, np.int32)
                cols = np.empty(cap, np.int32)
                vals = np.empty(cap, np.float64)
                n_rep, nxt = kernels.decode_messages(
                    buf, msgs.off, msgs.length, mprog, mrow, i0, i1,
                    ent, node_lo, node_hi, roots, enum_vals,
                    out, out.view(np.uint32), out.view(np.uint64), oneof_case, valid,
                    rows, cols, vals,
                )  # fmt: skip
                if n_rep:
                    parts.append((i0, rows[:n_rep], cols[:n_rep], vals[:n_rep]))
                if nxt <= i0 and n_rep == 0:
                    cap = max(2 * cap, 1024)  # one message holds more values than fit
                i0 = int(nxt)

        ranges = _split(msgs.length, mprog, self.threads * 2 if self.threads > 1 else 1)
        if self.pool is not None and len(ranges) > 1:
            list(self.pool.map(run, ranges))
        else:
            for rng in ranges:
                run(rng)
        rep = _group_repeated(parts, n_rep_cols)
        out64 = out.view(np.uint64)
        for s in proto:
            self._collect(s, idx_of[s], msgs, valid, out, out64, oneof_case, oneof_start[s],
                          byte_start, entry_base[s], rep, int(rep_base[s]), buf)  # fmt: skip

    def _collect(
        self,
        s: int,
        idx: np.ndarray,
        msgs: Messages,
        valid: np.ndarray,
        out: np.ndarray,
        out64: np.ndarray,
        oneof_case: np.ndarray,
        oneof_start: int,
        byte_start: dict[tuple[int, int], int],
        base_entry: int,
        rep: tuple[np.ndarray, np.ndarray, np.ndarray],
        rep_base: int,
        buf: np.ndarray,
    ) -> None:
        """Copy one topic's rows of this batch into its final columns."""
        t = self.order[s]
        prog = t.program
        assert prog is not None
        n = int(idx.shape[0])
        r0 = t.n
        t.reserve(r0 + n)
        t.times[r0 : r0 + n] = msgs.time[idx]
        t.valid[r0 : r0 + n] = valid[idx].view(np.bool_)
        rows, vals, col_starts = rep
        for i, leaf in enumerate(prog.leaves):
            member = None
            if leaf.oneof_chain:
                member = np.ones(n, np.bool_)
                for slot, fnum in leaf.oneof_chain:
                    base = oneof_start + slot * n
                    member &= oneof_case[base : base + n] == fnum
            if leaf.repeated:
                col = rep_base + leaf.rep_col
                a, b = int(col_starts[col]), int(col_starts[col + 1])
                r = rows[a:b].astype(np.int64)
                v = vals[a:b]
                if member is not None and r.size:
                    keep = member[r]
                    r, v = r[keep], v[keep]
                t.store_repeated(i, r0, n, r, v)
                continue
            b0 = byte_start[(s, base_entry + leaf.entry)]
            if leaf.kind == "string":
                base = b0 // 8
                pairs = out64[base : base + 2 * n].reshape(n, 2)
                if member is not None:
                    pairs[~member, 1] = 0
                t.columns[i][r0 : r0 + n] = self._string_ids(t, i, out64, base, n, pairs, buf)
                continue
            local = out[b0 : b0 + n * leaf.width].view(_dtype(leaf.kind))
            if member is not None:
                local[~member] = leaf.default
            t.columns[i][r0 : r0 + n] = local
        t.n += n

    def _string_ids(
        self,
        t: _Topic,
        i: int,
        out64: np.ndarray,
        base: int,
        n: int,
        pairs: np.ndarray,
        buf: np.ndarray,
    ) -> np.ndarray:
        inverse = np.empty(n, np.int64)
        first = np.empty(n, np.int64)
        # Most string columns hold a handful of distinct values: start with a small
        # table (a big one costs more to clear than the strings cost to hash).
        cap = 4096
        while True:
            k = kernels.intern_strings(buf, out64, base, n, inverse, first, cap)
            if k >= 0:
                break
            cap *= 16
        texts, ids = t.texts[i]
        local_to_global = np.empty(k + 1, np.int32)
        local_to_global[0] = -1  # absent: the default
        for j, r in enumerate(first[:k].tolist()):
            off, ln = int(pairs[r, 0]), int(pairs[r, 1]) - 1
            raw = buf[off : off + ln].tobytes()
            g = ids.get(raw)
            if g is None:
                g = ids[raw] = len(texts)
                texts.append(raw.decode("utf-8", errors="replace"))
            local_to_global[j + 1] = g
        return local_to_global[inverse + 1]

    # -- result ------------------------------------------------------------------------------

    def finish(
        self, origin: int | None, window: tuple[int | None, int | None] | None
    ) -> dict[str, TopicColumns]:
        self._scratch = np.zeros(8, np.uint8)  # the batch buffer is not needed any more
        for cid, n in sorted(self.undefined.items()):
            self.skipped.append(
                Skipped(f"channel {cid}", "messages on a channel with no channel record", n)
            )
        # Topics of wanted channels that had no message still appear (with no rows).
        for cid in sorted(set(self.defs.channels) | set(self.defs.summary_channels)):
            if self.slot_of_chan[cid] == -2:
                self._resolve(cid)
        out: dict[str, TopicColumns] = {}
        for t in sorted(self.order, key=lambda t: t.first_channel):
            keep = t.valid[: t.n].copy()
            invalid = t.n - int(np.count_nonzero(keep))
            if invalid:
                reason = (
                    "message is not valid JSON"
                    if t.encoding == "json"
                    else "message is not valid protobuf"
                )
                self.skipped.append(Skipped(t.topic, f"{reason}: dropped", invalid))
            if window is not None:
                lo, hi = window
                if lo is not None:
                    keep &= t.times[: t.n] >= lo
                if hi is not None:
                    keep &= t.times[: t.n] <= hi
            all_rows = bool(keep.all())
            times = t.times[: t.n] if all_rows else t.times[: t.n][keep]
            if t.encoding == "json":
                signals, bad, notes = build_json_columns(t.json_rows, t.schema, t.topic, self.sel)
                rows_ok = np.array([r is not None for r in t.json_rows], np.bool_)
                keep &= rows_ok
                if bad:
                    self.skipped.append(Skipped(t.topic, "message is not valid JSON: dropped", bad))
                for path, reason, count in notes:
                    self.skipped.append(Skipped(f"{t.topic}:{path}", reason, count))
                times = t.times[: t.n][keep]
                sigs = {
                    p: Signal(s.path, s.kind, s.values[keep], s.repeated, s.enum_names)
                    for p, s in signals.items()
                }
                if self.sel.signals and not sigs:
                    continue
            else:
                sigs = self._protobuf_signals(t, None if all_rows else keep)
            schema_name = t.schema.name if t.schema is not None else ""
            encoding = "protobuf" if t.encoding == "protobuf" else "jsonschema"
            out[t.key] = TopicColumns(
                t.topic, schema_name, encoding, np.ascontiguousarray(times), sigs,
                schema_facts(t.schema) if t.encoding == "json" else {},
            )
        for what, reason, cid in self.notes:
            if cid >= 0:
                count = int(self.chan_counts[cid])
            else:  # a field of a decoded topic: as many values as it has rows
                tc = out.get(what.split(":", 1)[0])
                count = tc.count if tc is not None else 0
            self.skipped.append(Skipped(what, reason, count))
        return out

    def _protobuf_signals(self, t: _Topic, keep: np.ndarray | None) -> dict[str, Signal]:
        prog = t.program
        assert prog is not None
        sigs: dict[str, Signal] = {}
        n = t.n
        for i, leaf in enumerate(prog.leaves):
            if leaf.repeated:
                values = t.repeated[i][:n]
                dropped = t.rep_dropped.get(i, 0)
                if dropped:
                    self.skipped.append(
                        Skipped(
                            f"{t.topic}:{leaf.path}",
                            "repeated values past the width cap dropped",
                            dropped,
                        )
                    )
            elif leaf.kind == "string":
                texts = t.texts[i][0]
                default = leaf.default if isinstance(leaf.default, str) else ""
                table = np.empty(len(texts) + 1, dtype=object)
                table[0] = default
                table[1:] = texts
                values = table[t.columns[i][:n].astype(np.int64) + 1]
            else:
                values = t.columns[i][:n]
            if keep is not None:
                values = values[keep]
            sigs[leaf.path] = Signal(leaf.path, leaf.kind, values, leaf.repeated, leaf.enum_names)
        return sigs


def _same_schema(a: SchemaRecord | None, b: SchemaRecord | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.name, a.encoding, a.data) == (b.name, b.encoding, b.data)


def _split(lengths: np.ndarray, mprog: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Message ranges of about equal decoded bytes, for parallel decoding."""
    n = int(lengths.shape[0])
    if parts <= 1 or n < 2048:
        return [(0, n)]
    cum = np.cumsum(np.where(mprog >= 0, lengths, 0))
    if not cum.size or cum[-1] == 0:
        return [(0, n)]
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, parts) / parts)
    edges = [0, *sorted({int(c) for c in cuts if 0 < c < n}), n]
    return list(itertools.pairwise(edges))


def _group_repeated(
    parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]], n_cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeated values of a batch grouped by column (row order kept) + column starts."""
    starts = np.zeros(n_cols + 1, np.int64)
    if not parts:
        return np.zeros(0, np.int32), np.zeros(0, np.float64), starts
    parts.sort(key=lambda p: p[0])
    rows = np.concatenate([p[1] for p in parts])
    cols = np.concatenate([p[2] for p in parts])
    vals = np.concatenate([p[3] for p in parts])
    order = np.empty(rows.shape[0], np.int64)
    kernels.order_by_column(cols, n_cols, order)
    np.cumsum(np.bincount(cols, minlength=n_cols), out=starts[1:])
    return rows[order], vals[order], starts


def _widen(mat: np.ndarray, n: int, rows: int, width: int) -> np.ndarray:
    """A NaN-padded copy of a repeated field's matrix with more rows and/or columns."""
    if mat.shape[0] >= rows and mat.shape[1] >= width:
        return mat
    out = np.full((max(rows, mat.shape[0]), max(width, mat.shape[1])), np.nan)
    out[:n, : mat.shape[1]] = mat[:n]
    return out
