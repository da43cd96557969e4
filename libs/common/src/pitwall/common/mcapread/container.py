"""The MCAP container: records, chunks, decompression; no message decoding.

A linear read walks the data section from the magic (the summary is not needed and
not trusted), decompresses every chunk on a thread pool into one arena, and scans
every record with the compiled kernel into per-message arrays (channel, log time,
offset and length in the arena). An indexed read (`summary.py`) feeds chosen chunks
through the same decompression and scan.

Damage policy:
- a record that does not fit (cut file, absurd length, opcode 0): the walk stops
  there and searches forward for the next plausible chunk or message record
  (`kernels.resync`); the bytes in between are reported. With nothing found, the rest
  is the lost tail and the file counts as truncated.
- a chunk cut by the end of the file (or by damage) is decompressed as far as its
  bytes go; every complete record in that output is used.
- a chunk whose CRC does not match its data: its records are still decoded (every
  read is bounds-checked, so garbage cannot crash anything) and the mismatch is
  reported: one flipped bit must not throw away a megabyte of good messages.
- a chunk larger than its declared size is cut to it; no chunk may take more than
  `MAX_RATIO` times its compressed size, and all chunks together at most
  `arena_limit()`, so a lying header cannot exhaust memory.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
from pitwall.common.columns import Skipped
from pitwall.common.mcapread import consts as C
from pitwall.common.mcapread import records as R
from pitwall.common.mcapread.records import ChannelRecord, ChunkHeader, Malformed, SchemaRecord
from pitwall.common.mcapread.source import ByteSource

MAX_RATIO = 1024  # decompressed bytes per compressed byte a chunk may claim
MIN_SLOT = 1 << 20  # ... but any chunk may hold this much
COMPRESSIONS = ("", "zstd", "lz4")

_TOP_REPORT = np.zeros(256, dtype=np.uint8)
for _op in (R.OP_SCHEMA, R.OP_CHANNEL, R.OP_CHUNK, R.OP_ATTACHMENT, R.OP_METADATA, R.OP_DATA_END):
    _TOP_REPORT[_op] = C.REPORT
_TOP_REPORT[R.OP_FOOTER] = C.REPORT_AND_STOP
_CHUNK_REPORT = np.zeros(256, dtype=np.uint8)
_CHUNK_REPORT[R.OP_SCHEMA] = C.REPORT
_CHUNK_REPORT[R.OP_CHANNEL] = C.REPORT

_RESYNC_SLACK_NS = 3600 * 10**9  # a resynced message must be within an hour of the others


def arena_limit(file_size: int) -> int:
    """Most bytes all decompressed chunks of one file may take together."""
    try:
        phys = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        phys = 8 << 30
    return int(min(max(64 * file_size, 1 << 30), phys * 3 // 4))


def readonly(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


@dataclass(slots=True)
class Messages:
    """Per-message arrays, in file order; offsets index `Container.arena`."""

    chan: np.ndarray  # uint16
    time: np.ndarray  # int64 log time, ns
    off: np.ndarray  # int64
    length: np.ndarray  # int64

    @classmethod
    def empty(cls) -> Messages:
        return cls(
            np.zeros(0, np.uint16),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )

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

    def __len__(self) -> int:
        return int(self.chan.shape[0])


@dataclass
class Container:
    """Everything a linear or indexed read found, ready for message decoding."""

    arena: np.ndarray
    messages: Messages
    schemas: dict[int, SchemaRecord] = field(default_factory=dict)
    channels: dict[int, ChannelRecord] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    truncated: bool = False
    lost_tail_bytes: int = 0
    chunk_count: int = 0
    # Schema / channel records of the summary section: used only for ids the data
    # section never defines.
    summary_schemas: dict[int, SchemaRecord] = field(default_factory=dict)
    summary_channels: dict[int, ChannelRecord] = field(default_factory=dict)


@dataclass(slots=True)
class _Scan:
    messages: Messages
    o_op: np.ndarray
    o_pos: np.ndarray
    o_len: np.ndarray
    o_span: np.ndarray
    stop: np.ndarray
    status: np.ndarray
    short: int


def scan(
    kern: ModuleType, buf: np.ndarray, lo: np.ndarray, hi: np.ndarray, report: np.ndarray
) -> _Scan:
    """Run the record scan over spans [lo[i], hi[i]) of `buf` (count, then fill)."""
    n_spans = int(lo.shape[0])
    stop = np.zeros(n_spans, np.int64)
    status = np.zeros(n_spans, np.int8)
    e8, e16, e32, e64 = (np.zeros(0, t) for t in (np.uint8, np.uint16, np.int32, np.int64))
    n_msg, n_oth, short = kern.scan_spans(
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
    kern.scan_spans(
        buf, lo, hi, report, True,
        msgs.chan, msgs.time, msgs.off, msgs.length, o_op, o_pos, o_len, o_span, stop, status,
    )  # fmt: skip
    return _Scan(msgs, o_op, o_pos, o_len, o_span, stop, status, int(short))


class _Resync:
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

    def find(self, kern: ModuleType, buf: np.ndarray, start: int, end: int) -> int:
        return int(kern.resync(buf, start, end, self.known, self.t_lo, self.t_hi))


def _body(buf: np.ndarray, pos: int, length: int) -> memoryview:
    return memoryview(buf)[pos + R.RECORD_HEADER : pos + R.RECORD_HEADER + length]


def read_linear(
    kern: ModuleType,
    src: ByteSource,
    threads: int,
    progress: Callable[[float], None] | None = None,
) -> Container:
    """Walk the whole file from the magic; the summary is only a fallback for ids."""
    buf = readonly(src.whole())
    size = int(buf.shape[0])
    out = Container(arena=buf, messages=Messages.empty())
    top_parts: list[Messages] = []
    chunks: list[ChunkHeader] = []
    resync = _Resync()
    data_end_at = -1
    has_footer = False
    footer_end = -1
    attachments = 0
    short = 0
    pos = len(R.MAGIC)
    while pos < size:
        res = scan(kern, buf, np.array([pos], np.int64), np.array([size], np.int64), _TOP_REPORT)
        top_parts.append(res.messages)
        short += res.short
        for op, rpos, rlen in zip(
            res.o_op.tolist(), res.o_pos.tolist(), res.o_len.tolist(), strict=True
        ):
            body = _body(buf, rpos, rlen)
            in_summary = 0 <= data_end_at < rpos
            try:
                if op == R.OP_SCHEMA:
                    schema = R.parse_schema(body)
                    (out.summary_schemas if in_summary else out.schemas)[schema.id] = schema
                elif op == R.OP_CHANNEL:
                    channel = R.parse_channel(body)
                    (out.summary_channels if in_summary else out.channels)[channel.id] = channel
                elif op == R.OP_CHUNK:
                    chunks.append(
                        R.parse_chunk_header(buf, rpos, rpos + R.RECORD_HEADER, rlen, size)
                    )
                elif op == R.OP_METADATA:
                    name, values = R.parse_metadata(body)
                    out.metadata[name] = values
                elif op == R.OP_ATTACHMENT:
                    attachments += 1
                elif op == R.OP_DATA_END:
                    data_end_at = rpos
                elif op == R.OP_FOOTER:
                    has_footer = True
                    footer_end = rpos + R.RECORD_HEADER + rlen
            except Malformed as exc:
                out.skipped.append(
                    Skipped(f"record@{rpos}", f"malformed record (opcode {op}): {exc}")
                )
        stop = int(res.stop[0])
        status = int(res.status[0])
        if status in (C.ST_OK, C.ST_STOPPED):
            pos = stop
            break
        # A record that does not fit at `stop`: a cut, or damage.
        resync.learn(res.messages, out.channels)
        nxt = resync.find(kern, buf, stop + 1, size)
        cut_chunk = _cut_chunk(buf, stop, nxt if nxt >= 0 else size)
        if cut_chunk is not None:
            chunks.append(cut_chunk)
        if nxt < 0:
            out.truncated = True
            out.lost_tail_bytes = size - stop
            what = "chunk cut off" if cut_chunk is not None else "partial record"
            out.skipped.append(
                Skipped("tail", f"file ends inside a record at byte {stop} ({what})", size - stop)
            )
            pos = size
            break
        reason = "damaged record, skipped to the next readable one"
        out.skipped.append(Skipped(f"bytes@{stop}", reason, nxt - stop))
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
    if progress:
        progress(0.05)

    top = Messages.concat(top_parts)
    out.chunk_count = len(chunks)
    if not chunks:
        out.messages = top
    else:
        _read_chunks(kern, src, buf, chunks, top, out, resync, threads, progress)
    if short:
        out.skipped.append(Skipped("messages", "message record too short for its header", short))
    return out


def _cut_chunk(buf: np.ndarray, at: int, until: int) -> ChunkHeader | None:
    """The chunk record at `at` when it runs past `until`: its bytes up to there."""
    if at + R.RECORD_HEADER > buf.shape[0] or buf[at] != R.OP_CHUNK:
        return None
    length = int.from_bytes(bytes(buf[at + 1 : at + 9]), "little")
    try:
        return R.parse_chunk_header(buf, at, at + R.RECORD_HEADER, length, until)
    except Malformed:
        return None


def _read_chunks(
    kern: ModuleType,
    src: ByteSource,
    buf: np.ndarray,
    chunks: list[ChunkHeader],
    top: Messages,
    out: Container,
    resync: _Resync,
    threads: int,
    progress: Callable[[float], None] | None,
) -> None:
    """Decompress chunks into one arena, scan them, merge with top-level messages."""
    extra = int(top.length.sum()) if len(top) else 0
    arena, spans = decompress_chunks(src, chunks, threads, out.skipped, arena_limit(src.size), extra,
                                     progress)  # fmt: skip
    if len(spans):
        resync.learn(top, out.channels)
        msgs = scan_chunk_spans(kern, arena, spans, chunks, out, resync)
    else:
        msgs = Messages.empty()
    if len(top):
        # Messages outside chunks next to chunked ones: copy their bytes after the
        # chunks so every message lives in one buffer, then restore file order.
        base = int(arena.shape[0]) - extra
        dst_off = base + np.concatenate(([0], np.cumsum(top.length)[:-1])).astype(np.int64)
        kern.gather_copy(buf, top.off, top.length, arena, dst_off)
        chunk_key = _chunk_file_offsets(msgs, spans, chunks)
        keys = np.concatenate((chunk_key, top.off))
        inner = np.concatenate((msgs.off, np.zeros(len(top), np.int64)))
        merged = Messages.concat([msgs, Messages(top.chan, top.time, dst_off, top.length)])
        order = np.lexsort((inner, keys))
        msgs = Messages(
            merged.chan[order], merged.time[order], merged.off[order], merged.length[order]
        )
    out.arena = readonly(arena)
    out.messages = msgs


def _chunk_file_offsets(msgs: Messages, spans: np.ndarray, chunks: list[ChunkHeader]) -> np.ndarray:
    """For each chunk message, the file offset of its chunk (to order by file position)."""
    if not len(msgs):
        return np.zeros(0, np.int64)
    which = np.searchsorted(spans[:, 0], msgs.off, side="right") - 1
    offsets = np.array([chunks[int(i)].record_offset for i in spans[:, 2]], np.int64)
    return offsets[which]


def decompress_chunks(
    src: ByteSource,
    chunks: list[ChunkHeader],
    threads: int,
    skipped: list[Skipped],
    limit: int,
    extra: int = 0,
    progress: Callable[[float], None] | None = None,
    progress_range: tuple[float, float] = (0.05, 0.5),
    fetch: Callable[[ChunkHeader], bytes | memoryview] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decompress chunks into one arena; spans (lo, hi, chunk index) of their output.

    `extra` bytes are reserved at the end of the arena for the caller. `fetch` returns
    a chunk's compressed bytes (default: read them from the source).
    """
    if fetch is None:

        def fetch(h: ChunkHeader) -> bytes | memoryview:
            return src.read(h.data_offset, h.available)

    slots: list[tuple[int, int, int]] = []  # (chunk index, arena offset, slot size)
    total = 0
    for i, h in enumerate(chunks):
        where = f"chunk@{h.record_offset}"
        if h.compression not in COMPRESSIONS:
            skipped.append(Skipped(where, f"unsupported chunk compression {h.compression!r}"))
            continue
        if h.available <= 0:
            skipped.append(Skipped(where, "chunk has no data"))
            continue
        if h.compression == "":
            size = h.available
        else:
            size = min(h.uncompressed_size, max(h.available * MAX_RATIO, MIN_SLOT))
            if h.uncompressed_size == 0:
                size = max(h.available * MAX_RATIO, MIN_SLOT)
        if total + size > limit:
            skipped.append(Skipped(where, "chunks exceed the memory limit for one file"))
            continue
        slots.append((i, total, size))
        total += size
    arena = np.empty(total + extra, dtype=np.uint8)
    view = memoryview(arena)
    done_bytes = 0
    all_bytes = sum(s[2] for s in slots) or 1

    def work(slot: tuple[int, int, int]) -> tuple[int, list[str]]:
        i, lo, size = slot
        return _decompress(fetch, chunks[i], view[lo : lo + size])

    produced: list[int] = []
    if threads > 1 and len(slots) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = pool.map(work, slots)
            for slot, (n, notes) in zip(slots, results, strict=True):
                produced.append(n)
                _note_chunk(skipped, chunks[slot[0]], notes)
                done_bytes += slot[2]
                if progress:
                    lo_p, hi_p = progress_range
                    progress(lo_p + (hi_p - lo_p) * done_bytes / all_bytes)
    else:
        for slot in slots:
            n, notes = work(slot)
            produced.append(n)
            _note_chunk(skipped, chunks[slot[0]], notes)
            done_bytes += slot[2]
            if progress:
                lo_p, hi_p = progress_range
                progress(lo_p + (hi_p - lo_p) * done_bytes / all_bytes)
    spans = np.array(
        [(lo, lo + n, i) for (i, lo, _), n in zip(slots, produced, strict=True) if n > 0],
        dtype=np.int64,
    ).reshape(-1, 3)
    return arena, spans


def _note_chunk(skipped: list[Skipped], h: ChunkHeader, notes: list[str]) -> None:
    for note in notes:
        skipped.append(Skipped(f"chunk@{h.record_offset}", note))


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


def scan_chunk_spans(
    kern: ModuleType,
    arena: np.ndarray,
    spans: np.ndarray,
    chunks: list[ChunkHeader],
    out: Container,
    resync: _Resync,
) -> Messages:
    """Scan the records of every decompressed chunk; resync inside damaged ones."""
    ro = readonly(arena)
    lo = np.ascontiguousarray(spans[:, 0])
    hi = np.ascontiguousarray(spans[:, 1])
    res = scan(kern, ro, lo, hi, _CHUNK_REPORT)
    parts = [res.messages]
    _chunk_records(ro, res, out)
    bad = np.nonzero((res.status != C.ST_OK) & (res.status != C.ST_STOPPED))[0]
    if bad.size:
        resync.learn(res.messages, out.channels)
    for s in bad.tolist():
        h = chunks[int(spans[s, 2])]
        stop, end = int(res.stop[s]), int(spans[s, 1])
        while True:
            nxt = resync.find(kern, ro, stop + 1, end)
            lost = (nxt if nxt >= 0 else end) - stop
            out.skipped.append(
                Skipped(
                    f"chunk@{h.record_offset}", "damaged records inside the chunk skipped", lost
                )
            )
            if nxt < 0:
                break
            sub = scan(
                kern, ro, np.array([nxt], np.int64), np.array([end], np.int64), _CHUNK_REPORT
            )
            parts.append(sub.messages)
            _chunk_records(ro, sub, out)
            if int(sub.status[0]) == C.ST_OK:
                break
            stop = int(sub.stop[0])
    msgs = Messages.concat(parts)
    if len(parts) > 1:
        order = np.argsort(msgs.off, kind="stable")
        msgs = Messages(msgs.chan[order], msgs.time[order], msgs.off[order], msgs.length[order])
    return msgs


def _chunk_records(arena: np.ndarray, res: _Scan, out: Container) -> None:
    """Schema and channel records found inside chunks (channels that start late)."""
    for op, rpos, rlen in zip(
        res.o_op.tolist(), res.o_pos.tolist(), res.o_len.tolist(), strict=True
    ):
        try:
            if op == R.OP_SCHEMA:
                schema = R.parse_schema(_body(arena, rpos, rlen))
                out.schemas.setdefault(schema.id, schema)
            elif op == R.OP_CHANNEL:
                channel = R.parse_channel(_body(arena, rpos, rlen))
                out.channels.setdefault(channel.id, channel)
        except Malformed as exc:
            out.skipped.append(
                Skipped(f"record@chunk+{rpos}", f"malformed record (opcode {op}): {exc}")
            )
