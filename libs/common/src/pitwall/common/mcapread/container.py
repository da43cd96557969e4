"""The MCAP container: records, chunks, decompression; no message decoding.

A linear read first walks the top level of the data section from the magic (the
summary is not needed and not trusted): chunk headers, message-index counts, schema,
channel and metadata records, and the messages of unchunked files. Then `batches()`
hands out the messages in file order, about `BATCH_BYTES` of decompressed data at a
time: the chunks of a batch are decompressed on a thread pool into a reusable arena
(two, so the next batch decompresses while the current one is decoded) and scanned by
the compiled kernel into per-message arrays (channel, log time, offset and length in
the arena). Holding one batch at a time keeps memory near the size of the columns, not
of the decompressed file. An indexed read (`summary.py`) feeds chosen chunks through
the same batches.

Damage policy:
- a record that does not fit (cut file, absurd length, opcode 0): the walk stops
  there and searches forward for the next plausible chunk or message record
  (`kernels.resync`); the bytes in between are reported. With nothing found, the rest
  is the lost tail and the file counts as truncated.
- a chunk cut by the end of the file (or by damage) is decompressed as far as its
  bytes go (whole compression blocks); every complete record in that output is used.
- a chunk whose CRC does not match its data: its records are still decoded (every
  read is bounds-checked, so garbage cannot crash anything) and the mismatch is
  reported: one flipped bit must not throw away a megabyte of good messages.
- a chunk larger than its declared size is cut to it; no chunk may take more than
  `MAX_RATIO` times its compressed size (at least `MIN_SLOT`), so a lying header
  cannot exhaust memory.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

import numpy as np

from pitwall.common.columns import Skipped
from pitwall.common.mcapread import _kernels as kernels
from pitwall.common.mcapread import consts as C
from pitwall.common.mcapread import records as R
from pitwall.common.mcapread.records import ChannelRecord, ChunkHeader, Malformed, SchemaRecord
from pitwall.common.mcapread.source import ByteSource

MAX_RATIO = 1024  # decompressed bytes per compressed byte a chunk may claim
MIN_SLOT = 1 << 20  # ... but any chunk may hold this much
MAX_SLOT = 2 << 30  # and none more than this
COMPRESSIONS = ("", "zstd", "lz4")
BATCH_BYTES = 16 << 20  # decompressed bytes per batch (more when one chunk is bigger)

_TOP_REPORT = np.zeros(256, dtype=np.uint8)
for _op in (
    R.OP_SCHEMA, R.OP_CHANNEL, R.OP_CHUNK, R.OP_MESSAGE_INDEX, R.OP_ATTACHMENT,
    R.OP_METADATA, R.OP_DATA_END,
):  # fmt: skip
    _TOP_REPORT[_op] = C.REPORT
_TOP_REPORT[R.OP_FOOTER] = C.REPORT_AND_STOP
_CHUNK_REPORT = np.zeros(256, dtype=np.uint8)
_CHUNK_REPORT[R.OP_SCHEMA] = C.REPORT
_CHUNK_REPORT[R.OP_CHANNEL] = C.REPORT

_RESYNC_SLACK_NS = 3600 * 10**9  # a resynced message must be within an hour of the others
_MI_HEAD = struct.Struct("<HI")
_MIN_MESSAGE_RECORD = R.RECORD_HEADER + 22


def readonly(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


@dataclass(slots=True)
class Messages:
    """Per-message arrays, in file order; offsets index a batch's arena."""

    chan: np.ndarray  # uint16
    time: np.ndarray  # int64 log time, ns
    off: np.ndarray  # int64
    length: np.ndarray  # int64

    @classmethod
    def empty(cls) -> Messages:
        z = np.zeros(0, np.int64)
        return cls(np.zeros(0, np.uint16), z, z, z)

    @classmethod
    def concat(cls, parts: list[Messages]) -> Messages:
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.chan for p in parts]),
            np.concatenate([p.time for p in parts]),
            np.concatenate([p.off for p in parts]),
            np.concatenate([p.length for p in parts]),
        )

    def take(self, idx: np.ndarray | slice) -> Messages:
        return Messages(self.chan[idx], self.time[idx], self.off[idx], self.length[idx])

    def __len__(self) -> int:
        return int(self.chan.shape[0])


@dataclass
class Definitions:
    """Schemas, channels and metadata found so far (data section first)."""

    schemas: dict[int, SchemaRecord] = field(default_factory=dict)
    channels: dict[int, ChannelRecord] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    # From the summary section: used only for ids the data section never defines.
    summary_schemas: dict[int, SchemaRecord] = field(default_factory=dict)
    summary_channels: dict[int, ChannelRecord] = field(default_factory=dict)

    def channel(self, cid: int) -> ChannelRecord | None:
        return self.channels.get(cid) or self.summary_channels.get(cid)

    def schema(self, sid: int) -> SchemaRecord | None:
        if sid == 0:
            return None
        return self.schemas.get(sid) or self.summary_schemas.get(sid)


@dataclass
class Layout:
    """What the top-level walk found; `batches()` turns it into messages."""

    buf: np.ndarray  # the whole file (read-only), or empty for indexed reads
    top: Messages  # messages outside chunks (offsets into buf)
    chunks: list[ChunkHeader]
    # Messages per channel of each chunk, from the message index records after it
    # (None when it has none): sizes the columns before anything is decompressed.
    chunk_counts: list[dict[int, int] | None]
    defs: Definitions
    skipped: list[Skipped] = field(default_factory=list)
    truncated: bool = False
    lost_tail_bytes: int = 0
    # Indexed reads hand chunk bytes already fetched; linear reads read them here.
    fetch: Callable[[ChunkHeader], bytes | memoryview] | None = None
    # Indexed reads check each chunk against its index entry (see summary.py).
    verify: Callable[[int, Messages], bool] | None = None
    # Expected messages per channel when the chunk counts are unknown (indexed reads).
    hint: dict[int, int] = field(default_factory=dict)

    def expected_counts(self) -> dict[int, int]:
        out: dict[int, int] = dict(self.hint)
        for counts in self.chunk_counts:
            for cid, n in (counts or {}).items():
                out[cid] = out.get(cid, 0) + n
        if len(self.top):
            ids, per_id = np.unique(self.top.chan, return_counts=True)
            for cid, k in zip(ids.tolist(), per_id.tolist(), strict=True):
                out[cid] = out.get(cid, 0) + k
        return out


@dataclass(slots=True)
class _Scan:
    messages: Messages
    o_op: np.ndarray
    o_pos: np.ndarray
    o_len: np.ndarray
    stop: np.ndarray
    status: np.ndarray
    short: int


def scan(
    buf: np.ndarray, lo: np.ndarray, hi: np.ndarray, report: np.ndarray
) -> _Scan:
    """Run the record scan over spans [lo[i], hi[i]) of `buf` (count, then fill)."""
    n_spans = int(lo.shape[0])
    stop = np.zeros(n_spans, np.int64)
    status = np.zeros(n_spans, np.int8)
    e8, e16, e32, e64 = (np.zeros(0, t) for t in (np.uint8, np.uint16, np.int32, np.int64))
    n_msg, n_oth, short = kernels.scan_spans(
        buf, lo, hi, report, False, e16, e64, e64, e64, e8, e64, e64, e32, stop, status
    )
    msgs = Messages(
        np.empty(n_msg, np.uint16), np.empty(n_msg, np.int64),
        np.empty(n_msg, np.int64), np.empty(n_msg, np.int64),
    )  # fmt: skip
    o_op = np.empty(n_oth, np.uint8)
    o_pos = np.empty(n_oth, np.int64)
    o_len = np.empty(n_oth, np.int64)
    o_span = np.empty(n_oth, np.int32)
    kernels.scan_spans(
        buf, lo, hi, report, True,
        msgs.chan, msgs.time, msgs.off, msgs.length, o_op, o_pos, o_len, o_span, stop, status,
    )  # fmt: skip
    return _Scan(msgs, o_op, o_pos, o_len, stop, status, int(short))


class Resync:
    """What a forward search after damage may accept as the next record."""

    def __init__(self) -> None:
        self.known = np.zeros(1 << 16, dtype=np.uint8)
        self.t_lo = 0
        self.t_hi = -1  # empty: no message is plausible until times are known

    def learn(self, msgs: Messages, channels: dict[int, ChannelRecord]) -> None:
        for cid in channels:
            self.known[cid] = 1
        if len(msgs):
            lo = int(msgs.time.min()) - _RESYNC_SLACK_NS
            hi = int(msgs.time.max()) + _RESYNC_SLACK_NS
            if self.t_hi < self.t_lo:
                self.t_lo, self.t_hi = lo, hi
            else:
                self.t_lo, self.t_hi = min(self.t_lo, lo), max(self.t_hi, hi)

    def find(self, buf: np.ndarray, start: int, end: int) -> int:
        return int(kernels.resync(buf, start, end, self.known, self.t_lo, self.t_hi))


def _body(buf: np.ndarray | bytes, pos: int, length: int) -> memoryview:
    view = buf.data if isinstance(buf, np.ndarray) else memoryview(buf)
    return view[pos + R.RECORD_HEADER : pos + R.RECORD_HEADER + length]


def walk_linear(src: ByteSource) -> Layout:
    """Walk the top level of the whole file from the magic."""
    buf = readonly(src.whole())
    size = int(buf.shape[0])
    defs = Definitions()
    out = Layout(buf, Messages.empty(), [], [], defs)
    top_parts: list[Messages] = []
    resync = Resync()
    data_end_at = -1
    has_footer = False
    footer_end = -1
    attachments = 0
    short = 0
    pos = len(R.MAGIC)
    while pos < size:
        res = scan(buf, np.array([pos], np.int64), np.array([size], np.int64), _TOP_REPORT)
        top_parts.append(res.messages)
        short += res.short
        # Message indexes (one per channel per chunk: most of the top-level records)
        # are counted in bulk after the others; the rest one by one.
        is_mi = res.o_op == R.OP_MESSAGE_INDEX
        others = np.flatnonzero(~is_mi)
        for op, rpos, rlen in zip(
            res.o_op[others].tolist(), res.o_pos[others].tolist(), res.o_len[others].tolist(),
            strict=True,
        ):  # fmt: skip
            body = _body(buf, rpos, rlen)
            in_summary = 0 <= data_end_at < rpos
            try:
                if op == R.OP_SCHEMA:
                    schema = R.parse_schema(body)
                    (defs.summary_schemas if in_summary else defs.schemas)[schema.id] = schema
                elif op == R.OP_CHANNEL:
                    channel = R.parse_channel(body)
                    (defs.summary_channels if in_summary else defs.channels)[channel.id] = channel
                elif op == R.OP_CHUNK:
                    out.chunks.append(
                        R.parse_chunk_header(buf, rpos, rpos + R.RECORD_HEADER, rlen, size)
                    )
                    out.chunk_counts.append(None)
                elif op == R.OP_METADATA:
                    name, values = R.parse_metadata(body)
                    defs.metadata[name] = values
                elif op == R.OP_ATTACHMENT:
                    attachments += 1
                elif op == R.OP_DATA_END:
                    data_end_at = rpos
                elif op == R.OP_FOOTER:
                    has_footer = True
                    footer_end = rpos + R.RECORD_HEADER + rlen
            except (Malformed, struct.error) as exc:
                out.skipped.append(
                    Skipped(f"record@{rpos}", f"malformed record (opcode {op}): {exc}")
                )
        _count_indexed(out, buf, res.o_pos[is_mi], res.o_len[is_mi], data_end_at)
        stop = int(res.stop[0])
        status = int(res.status[0])
        if status in (C.ST_OK, C.ST_STOPPED):
            break
        # A record that does not fit at `stop`: a cut, or damage.
        resync.learn(res.messages, defs.channels)
        nxt = resync.find(buf, stop + 1, size)
        cut_chunk = _cut_chunk(buf, stop, nxt if nxt >= 0 else size)
        if cut_chunk is not None:
            out.chunks.append(cut_chunk)
            out.chunk_counts.append(None)
        if nxt < 0:
            out.truncated = True
            out.lost_tail_bytes = size - stop
            what = "chunk cut off" if cut_chunk is not None else "partial record"
            out.skipped.append(
                Skipped("tail", f"file ends inside a record at byte {stop} ({what})", size - stop)
            )
            break
        out.skipped.append(
            Skipped(f"bytes@{stop}", "damaged record, skipped to the next readable one", nxt - stop)
        )
        pos = nxt
    if has_footer:
        trailing = size - footer_end
        if trailing != len(R.MAGIC) or bytes(buf[footer_end:size]) != R.MAGIC:
            out.skipped.append(
                Skipped("tail", "unexpected bytes after the footer", max(trailing, 0))
            )
    else:
        out.truncated = True
        if not out.lost_tail_bytes:
            out.skipped.append(
                Skipped("footer", "file has no footer: cut off after its last record")
            )
    if attachments:
        out.skipped.append(Skipped("attachments", "attachments are not exported", attachments))
    if short:
        out.skipped.append(Skipped("messages", "message record too short for its header", short))
    out.top = Messages.concat(top_parts)
    # Compressed chunk bytes are read with pread (not through the map) so they do not
    # stay resident once decompressed; the pages the walk touched (record headers, all
    # over the message indexes) are let go when nothing else needs the map.
    out.fetch = lambda h: src.read(h.data_offset, h.available)
    if out.chunks and not len(out.top):
        src.release()
    return out


def _count_indexed(
    out: Layout, buf: np.ndarray, pos: np.ndarray, length: np.ndarray, data_end_at: int
) -> None:
    """Add the message counts of data-section message index records to their chunk's.

    A message index belongs to the last chunk before it. The counts only size columns,
    but a damaged index must not reserve more rows than its chunk could hold messages.
    """
    if not len(pos) or not out.chunks:
        return
    if data_end_at >= 0:
        keep = pos < data_end_at
        pos, length = pos[keep], length[keep]
    starts = np.array([h.record_offset for h in out.chunks], np.int64)
    chunk = np.searchsorted(starts, pos, side="left") - 1
    for rpos in pos[(chunk >= 0) & (length < _MI_HEAD.size)].tolist():
        out.skipped.append(
            Skipped(f"record@{rpos}", "malformed record (opcode 7): shorter than its header")
        )
    keep = (chunk >= 0) & (length >= _MI_HEAD.size)
    pos, length, chunk = pos[keep], length[keep], chunk[keep]
    if not len(pos):
        return
    body = pos + R.RECORD_HEADER
    cid = buf[body].astype(np.int64) | (buf[body + 1].astype(np.int64) << 8)
    declared = np.zeros(len(body), np.int64)
    for k in range(4):
        declared |= buf[body + 2 + k].astype(np.int64) << (8 * k)
    n = np.minimum(declared, length - _MI_HEAD.size) // 16
    # Sum per (chunk, channel), then cap by what the chunk could hold.
    key = chunk * (1 << 16) + cid
    uniq, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=n, minlength=len(uniq)).astype(np.int64)
    u_chunk, u_cid = uniq >> 16, uniq & 0xFFFF
    bounds = np.flatnonzero(np.diff(u_chunk)) + 1
    for lo, hi in zip(
        np.concatenate(([0], bounds)).tolist(), np.concatenate((bounds, [len(uniq)])).tolist(),
        strict=True,
    ):  # fmt: skip
        c = int(u_chunk[lo])
        room = out.chunks[c].uncompressed_size // _MIN_MESSAGE_RECORD
        counts = out.chunk_counts[c]
        if counts is None:
            counts = out.chunk_counts[c] = {}
        for k, v in zip(u_cid[lo:hi].tolist(), total[lo:hi].tolist(), strict=True):
            counts[k] = min(counts.get(k, 0) + v, room)


def _cut_chunk(buf: np.ndarray, at: int, until: int) -> ChunkHeader | None:
    """The chunk record at `at` when it runs past `until`: its bytes up to there."""
    if at + R.RECORD_HEADER > buf.shape[0] or buf[at] != R.OP_CHUNK:
        return None
    length = int.from_bytes(bytes(buf[at + 1 : at + 9]), "little")
    try:
        return R.parse_chunk_header(buf, at, at + R.RECORD_HEADER, length, until)
    except Malformed:
        return None


# ---------------------------------------------------------------------------------------
# Batches.


@dataclass
class Batch:
    arena: np.ndarray  # read-only; valid until the next batch is requested
    messages: Messages  # in file order
    schemas: list[SchemaRecord]  # records found inside this batch's chunks
    channels: list[ChannelRecord]
    done: float  # share of the work (bytes) done after this batch


def _slot_size(h: ChunkHeader) -> int:
    if h.compression == "":
        return h.available
    cap = min(max(h.available * MAX_RATIO, MIN_SLOT), MAX_SLOT)
    return min(h.uncompressed_size, cap) if h.uncompressed_size else cap


@dataclass
class _Pending:
    """A group of chunks being decompressed into one of the two arenas."""

    group: int
    arena: np.ndarray
    slots: list[tuple[int, int]]  # (chunk index, slot size)
    offsets: np.ndarray
    top: Messages
    need: int
    results: list[Future[list[tuple[int, list[str]]]]] | list[list[tuple[int, list[str]]]]


def batches(
    layout: Layout,
    pool: Executor | None,
    batch_bytes: int | None = None,
    threads: int = 2,
) -> Iterator[Batch]:
    """The file's messages in file order, one batch of chunks at a time.

    With a pool, the next batch's chunks are decompressed (into a second arena) while
    the caller decodes the current one. Problems found on the way (damaged chunks, CRC
    mismatches) go to layout.skipped.
    """
    batch_bytes = batch_bytes or BATCH_BYTES
    top = layout.top
    chunks = layout.chunks
    if not chunks:
        yield from _top_batches(layout, batch_bytes)
        return
    skipped = layout.skipped
    usable: list[int] = []
    for i, h in enumerate(chunks):
        where = f"chunk@{h.record_offset}"
        if h.compression not in COMPRESSIONS:
            skipped.append(Skipped(where, f"unsupported chunk compression {h.compression!r}"))
        elif h.available <= 0:
            skipped.append(Skipped(where, "chunk has no data"))
        else:
            usable.append(i)
    # Consecutive chunks up to batch_bytes of output form a batch; messages outside
    # chunks go with the batch whose file range holds them.
    groups: list[list[int]] = []
    size = 0
    for i in usable:
        s = _slot_size(chunks[i])
        if groups and size + s <= batch_bytes:
            groups[-1].append(i)
            size += s
        else:
            groups.append([i])
            size = s
    if not groups:
        # No chunk is usable (all cut to nothing or of an unknown compression): the
        # messages outside chunks are all there is (found by fuzzing: an IndexError).
        yield from _top_batches(layout, batch_bytes)
        return
    starts = [chunks[g[0]].record_offset for g in groups]
    top_cut = np.searchsorted(top.off, np.array(starts[1:], np.int64)) if len(top) else None
    total = sum(_slot_size(chunks[i]) for i in usable) + int(top.length.sum()) or 1
    arenas = [np.empty(0, np.uint8), np.empty(0, np.uint8)]
    fetch = layout.fetch
    if fetch is None:
        src_buf = layout.buf

        def fetch(h: ChunkHeader) -> bytes | memoryview:
            return src_buf.data[h.data_offset : h.data_offset + h.available]

    def start(k: int) -> _Pending | None:
        """Begin decompressing group k (None: no memory for it, reported)."""
        if top_cut is not None:
            a = 0 if k == 0 else int(top_cut[k - 1])
            b = len(top) if k == len(groups) - 1 else int(top_cut[k])
            top_part = top.take(slice(a, b))
        else:
            top_part = Messages.empty()
        slots = [(i, _slot_size(chunks[i])) for i in groups[k]]
        extra = int(top_part.length.sum())
        need = sum(s for _, s in slots) + extra
        arena = arenas[k % 2]
        if arena.shape[0] < need:
            arenas[k % 2] = np.empty(0, np.uint8)  # let the old one go first
            try:
                arena = arenas[k % 2] = np.empty(need, np.uint8)
            except MemoryError:
                for i, _ in slots:
                    where = f"chunk@{chunks[i].record_offset}"
                    skipped.append(Skipped(where, "not enough memory for this chunk"))
                return None
        view = arena.data
        offsets = np.cumsum([0] + [s for _, s in slots])

        def work(js: range) -> list[tuple[int, list[str]]]:
            out = []
            for j in js:
                i, s = slots[j]
                lo = int(offsets[j])
                out.append(_decompress(fetch, chunks[i], view[lo : lo + s]))
            return out

        results: list[Future[list[tuple[int, list[str]]]]] | list[list[tuple[int, list[str]]]]
        if pool is not None:
            # One task per thread over consecutive chunks of about equal size (one
            # task per chunk costs more than a small chunk takes to decompress).
            parts = max(1, min(threads, len(slots)))
            cuts = np.searchsorted(offsets[1:], offsets[-1] * np.arange(1, parts) / parts)
            edges = [0, *sorted({int(c) + 1 for c in cuts if 0 <= c < len(slots) - 1}), len(slots)]
            results = [pool.submit(work, range(a, b)) for a, b in itertools.pairwise(edges)]
        else:
            results = [work(range(len(slots)))]
        return _Pending(k, arena, slots, offsets, top_part, need, results)

    resync = Resync()
    resync.learn(top, layout.defs.channels)
    done = 0
    nxt = start(0)
    for k in range(len(groups)):
        cur = nxt
        nxt = None
        if cur is not None:
            results = [x for r in cur.results for x in (r.result() if isinstance(r, Future) else r)]
        if k + 1 < len(groups):
            nxt = start(k + 1)
        if cur is None:
            continue
        batch = _finish_batch(layout, cur, results, resync)
        done += cur.need
        batch.done = min(done / total, 1.0)
        yield batch


def _finish_batch(
    layout: Layout,
    cur: _Pending,
    results: list[tuple[int, list[str]]],
    resync: Resync,
) -> Batch:
    """Scan a decompressed group into messages (merged with messages outside chunks)."""
    chunks = layout.chunks
    skipped = layout.skipped
    arena = cur.arena
    spans = []
    for j, (n, notes) in enumerate(results):
        h = chunks[cur.slots[j][0]]
        if notes and layout.verify is not None:
            raise IndexMismatch
        for note in notes:
            skipped.append(Skipped(f"chunk@{h.record_offset}", note))
        if n > 0:
            lo = int(cur.offsets[j])
            spans.append((lo, lo + n, cur.slots[j][0]))
    ro = readonly(arena)
    schemas: list[SchemaRecord] = []
    channels: list[ChannelRecord] = []
    span_arr = np.array(spans, np.int64).reshape(-1, 3)
    msgs, per_chunk = _scan_spans(
        ro, span_arr, chunks, schemas, channels, skipped, resync, layout
    )
    if layout.verify is not None:
        for idx, part in per_chunk:
            if not layout.verify(idx, part):
                raise IndexMismatch
    top_part = cur.top
    if len(top_part):
        # Messages outside chunks next to chunked ones: copy their bytes after the
        # chunks so the batch is one buffer, then restore file order.
        extra = int(top_part.length.sum())
        base = cur.need - extra
        dst = base + np.concatenate(([0], np.cumsum(top_part.length)[:-1])).astype(np.int64)
        kernels.gather_copy(layout.buf, top_part.off, top_part.length, arena, dst)
        keys = np.concatenate((_chunk_keys(msgs, span_arr, chunks), top_part.off))
        inner = np.concatenate((msgs.off, np.zeros(len(top_part), np.int64)))
        merged = Messages.concat(
            [msgs, Messages(top_part.chan, top_part.time, dst, top_part.length)]
        )
        msgs = merged.take(np.lexsort((inner, keys)))
    resync.learn(msgs, {c.id: c for c in channels})
    return Batch(ro, msgs, schemas, channels, 0.0)


class IndexMismatch(Exception):
    """A chunk read through the index disagrees with its index entry."""


def _top_batches(layout: Layout, batch_bytes: int) -> Iterator[Batch]:
    """Unchunked files: the messages sit in the file itself, no copy needed."""
    top = layout.top
    if not len(top):
        return
    cum = np.cumsum(top.length + 31)
    total = int(cum[-1]) or 1
    edges = np.searchsorted(cum, np.arange(batch_bytes, total, batch_bytes))
    bounds = [0, *sorted({int(e) for e in edges if 0 < e < len(top)}), len(top)]
    for a, b in itertools.pairwise(bounds):
        yield Batch(layout.buf, top.take(slice(a, b)), [], [], int(cum[b - 1]) / total)


def _chunk_keys(msgs: Messages, spans: np.ndarray, chunks: list[ChunkHeader]) -> np.ndarray:
    """For each chunk message, the file offset of its chunk (to order by file position)."""
    if not len(msgs):
        return np.zeros(0, np.int64)
    which = np.searchsorted(spans[:, 0], msgs.off, side="right") - 1
    offsets = np.array([chunks[int(i)].record_offset for i in spans[:, 2]], np.int64)
    return offsets[which]


def _scan_spans(
    arena: np.ndarray,
    spans: np.ndarray,
    chunks: list[ChunkHeader],
    schemas: list[SchemaRecord],
    channels: list[ChannelRecord],
    skipped: list[Skipped],
    resync: Resync,
    layout: Layout,
) -> tuple[Messages, list[tuple[int, Messages]]]:
    """Scan the records of decompressed chunks; resync inside damaged ones.

    Also returns each chunk's messages when the layout verifies chunks (indexed read).
    """
    if not spans.shape[0]:
        return Messages.empty(), []
    lo = np.ascontiguousarray(spans[:, 0])
    hi = np.ascontiguousarray(spans[:, 1])
    res = scan(arena, lo, hi, _CHUNK_REPORT)
    parts = [res.messages]
    _chunk_records(arena, res, schemas, channels, skipped)
    bad = np.nonzero((res.status != C.ST_OK) & (res.status != C.ST_STOPPED))[0]
    if bad.size and layout.verify is not None:
        raise IndexMismatch
    if bad.size:
        resync.learn(res.messages, {c.id: c for c in channels} | layout.defs.channels)
    for s in bad.tolist():
        h = chunks[int(spans[s, 2])]
        stop, end = int(res.stop[s]), int(spans[s, 1])
        while True:
            nxt = resync.find(arena, stop + 1, end)
            lost = (nxt if nxt >= 0 else end) - stop
            skipped.append(
                Skipped(
                    f"chunk@{h.record_offset}", "damaged records inside the chunk skipped", lost
                )
            )
            if nxt < 0:
                break
            sub = scan(
                arena, np.array([nxt], np.int64), np.array([end], np.int64), _CHUNK_REPORT
            )
            parts.append(sub.messages)
            _chunk_records(arena, sub, schemas, channels, skipped)
            if int(sub.status[0]) == C.ST_OK:
                break
            stop = int(sub.stop[0])
    if res.short:
        if layout.verify is not None:
            raise IndexMismatch
        skipped.append(Skipped("messages", "message record too short for its header", res.short))
    msgs = Messages.concat(parts)
    if len(parts) > 1:
        msgs = msgs.take(np.argsort(msgs.off, kind="stable"))
    per_chunk: list[tuple[int, Messages]] = []
    if layout.verify is not None:
        cuts = np.searchsorted(msgs.off, spans[:, 0])
        ends = np.append(cuts[1:], len(msgs))
        for k in range(spans.shape[0]):
            per_chunk.append((int(spans[k, 2]), msgs.take(slice(int(cuts[k]), int(ends[k])))))
    return msgs, per_chunk


def _chunk_records(
    arena: np.ndarray,
    res: _Scan,
    schemas: list[SchemaRecord],
    channels: list[ChannelRecord],
    skipped: list[Skipped],
) -> None:
    """Schema and channel records found inside chunks (channels that start late)."""
    for op, rpos, rlen in zip(
        res.o_op.tolist(), res.o_pos.tolist(), res.o_len.tolist(), strict=True
    ):
        try:
            if op == R.OP_SCHEMA:
                schemas.append(R.parse_schema(_body(arena, rpos, rlen)))
            elif op == R.OP_CHANNEL:
                channels.append(R.parse_channel(_body(arena, rpos, rlen)))
        except Malformed as exc:
            skipped.append(
                Skipped(f"record@chunk+{rpos}", f"malformed record (opcode {op}): {exc}")
            )


def _decompress(
    fetch: Callable[[ChunkHeader], bytes | memoryview], h: ChunkHeader, dst: memoryview
) -> tuple[int, list[str]]:
    """Decompress one chunk into `dst`; (bytes produced, problems found)."""
    notes: list[str] = []
    slot = len(dst)
    complete = h.available >= h.data_length
    if not complete:
        notes.append("chunk cut off: records decoded from its readable part")
    data = fetch(h)
    n = 0
    more = False
    try:
        if h.compression == "zstd":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
            while n < slot:
                k = reader.readinto(dst[n:])
                if k == 0:
                    break
                n += k
            if n == slot and complete:
                more = bool(reader.read(1))
        elif h.compression == "lz4":
            import lz4.frame

            dec = lz4.frame.LZ4FrameDecompressor()
            piece = dec.decompress(data, max_length=slot)
            n = len(piece)
            dst[:n] = piece
            more = n == slot and not dec.eof and complete
        else:
            n = min(len(data), slot)
            dst[:n] = data[:n]
    except Exception as exc:  # each compression library raises its own error types
        notes.append(f"decompression failed after {n} bytes: {type(exc).__name__}")
    if more:
        notes.append("chunk holds more data than its declared size: cut to that size")
    elif complete and h.compression and n != h.uncompressed_size and not notes:
        notes.append(f"chunk decompressed to {n} bytes, header says {h.uncompressed_size}")
    if complete and h.uncompressed_crc and n == h.uncompressed_size and not notes:
        if zlib.crc32(dst[:n]) != h.uncompressed_crc:
            notes.append("chunk CRC mismatch: records decoded anyway, values may be damaged")
    return n, notes
