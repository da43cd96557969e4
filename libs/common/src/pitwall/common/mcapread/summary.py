"""The summary section, checked before it is believed, and the indexed partial read.

A summary is used only when the footer, the summary records and the data section all
agree: statistics present, one chunk index per chunk, every channel the indexes name
defined, chunks inside the data section and not overlapping, and nothing but
schemas, channels, metadata, attachments and message indexes between the chunks (the
gaps are read and walked to prove it; a message outside a chunk would otherwise be
missed). Then a selection that restricts topics or time reads only the chunks it
needs (ranged reads). Each chunk read is checked against its index entry (header
fields, size, CRC, channels, time range); any disagreement makes the caller fall back
to the linear read of the whole file, which never relies on the summary.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
from pitwall.common.columns import Skipped
from pitwall.common.mcapread import consts as C
from pitwall.common.mcapread import records as R
from pitwall.common.mcapread.container import (
    COMPRESSIONS,
    Container,
    Messages,
    arena_limit,
    decompress_chunks,
    readonly,
    scan,
)
from pitwall.common.mcapread.records import (
    ChannelRecord,
    ChunkHeader,
    ChunkIndexRecord,
    FooterRecord,
    Malformed,
    SchemaRecord,
    StatisticsRecord,
)
from pitwall.common.mcapread.source import ByteSource

_TAIL = R.FOOTER_RECORD + len(R.MAGIC)
_DATA_END_RECORD = R.RECORD_HEADER + 4
_MAX_SUMMARY = 256 << 20
_MAX_GAP_BYTES = 64 << 20
# Below this share of the chunk bytes an indexed read is worth its extra checks.
_WORTH_IT = 0.8
_GAP_OPS = {
    R.OP_HEADER, R.OP_SCHEMA, R.OP_CHANNEL, R.OP_MESSAGE_INDEX, R.OP_ATTACHMENT,
    R.OP_METADATA, R.OP_DATA_END,
}  # fmt: skip
_CHUNK_REPORT = np.zeros(256, dtype=np.uint8)
_CHUNK_REPORT[R.OP_SCHEMA] = C.REPORT
_CHUNK_REPORT[R.OP_CHANNEL] = C.REPORT


@dataclass
class Summary:
    footer: FooterRecord
    schemas: dict[int, SchemaRecord] = field(default_factory=dict)
    channels: dict[int, ChannelRecord] = field(default_factory=dict)
    stats: StatisticsRecord | None = None
    chunk_indexes: list[ChunkIndexRecord] = field(default_factory=list)


def read_summary(src: ByteSource) -> Summary | None:
    """The footer's summary section, or None when it is missing or does not parse."""
    size = src.size
    if size < len(R.MAGIC) + _TAIL:
        return None
    tail = src.read(size - _TAIL, _TAIL)
    if len(tail) != _TAIL or tail[R.FOOTER_RECORD :] != R.MAGIC or tail[0] != R.OP_FOOTER:
        return None
    if struct.unpack_from("<Q", tail, 1)[0] != 20:
        return None
    footer = R.parse_footer(tail[R.RECORD_HEADER : R.FOOTER_RECORD])
    start = footer.summary_start
    end = size - _TAIL
    if start == 0 or not (len(R.MAGIC) <= start <= end) or end - start > _MAX_SUMMARY:
        return None
    data = src.read(start, end - start)
    if len(data) != end - start:
        return None
    if footer.summary_crc and zlib.crc32(tail[:25], zlib.crc32(data)) != footer.summary_crc:
        return None
    recs = R.iter_records(data)
    if R.records_end(recs, 0) != len(data):
        return None
    out = Summary(footer)
    view = memoryview(data)
    try:
        for op, body, length in recs:
            rec = view[body : body + length]
            if op == R.OP_SCHEMA:
                schema = R.parse_schema(rec)
                out.schemas[schema.id] = schema
            elif op == R.OP_CHANNEL:
                channel = R.parse_channel(rec)
                out.channels[channel.id] = channel
            elif op == R.OP_CHUNK_INDEX:
                out.chunk_indexes.append(R.parse_chunk_index(rec))
            elif op == R.OP_STATISTICS:
                out.stats = R.parse_statistics(rec)
    except Malformed:
        return None
    return out


def problems(s: Summary, size: int) -> list[str]:
    """Why the summary cannot be trusted for an indexed read (empty: it can)."""
    found: list[str] = []
    st = s.stats
    if st is None:
        return ["no statistics record"]
    cis = s.chunk_indexes
    if len(cis) != st.chunk_count:
        found.append(f"{len(cis)} chunk indexes for {st.chunk_count} chunks")
    if st.message_count and not cis:
        found.append("messages but no chunk index")
    if len(s.channels) != st.channel_count:
        found.append(f"{len(s.channels)} channel records for {st.channel_count} channels")
    named = {cid for ci in cis for cid in ci.message_index_offsets} | set(st.channel_message_counts)
    if not named <= set(s.channels):
        found.append("chunk indexes name channels the summary does not define")
    if any(ch.schema_id and ch.schema_id not in s.schemas for ch in s.channels.values()):
        found.append("channels use schemas the summary does not define")
    data_end = s.footer.summary_start - _DATA_END_RECORD
    prev_end = len(R.MAGIC)
    for ci in sorted(cis, key=lambda c: c.chunk_start_offset):
        if ci.chunk_start_offset < prev_end or ci.chunk_length < R.RECORD_HEADER + 40:
            found.append("chunk indexes overlap or are out of order")
            break
        prev_end = ci.chunk_start_offset + ci.chunk_length + ci.message_index_length
        if prev_end > data_end:
            found.append("a chunk index points past the data section")
            break
        if ci.compression not in COMPRESSIONS or ci.message_start_time > ci.message_end_time:
            found.append("implausible chunk index")
            break
    if st.message_count and cis and st.message_start_time != min(c.message_start_time for c in cis):
        found.append("statistics start time disagrees with the chunk indexes")
    return found


def _gaps(cis: list[ChunkIndexRecord], data_end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = len(R.MAGIC)
    for ci in sorted(cis, key=lambda c: c.chunk_start_offset):
        if ci.chunk_start_offset > pos:
            out.append((pos, ci.chunk_start_offset))
        pos = ci.chunk_start_offset + ci.chunk_length + ci.message_index_length
    if data_end > pos:
        out.append((pos, data_end))
    return out


@dataclass
class IndexedRead:
    container: Container
    origin_ns: int | None


def read_indexed(
    kern: ModuleType,
    src: ByteSource,
    wanted_channels: Callable[[dict[int, ChannelRecord], dict[int, SchemaRecord]], set[int]],
    window: Callable[[int], tuple[int | None, int | None]],
    threads: int,
    progress: Callable[[float], None] | None = None,
) -> IndexedRead | None:
    """Read only the chunks a selection needs, or None to fall back to a linear read.

    `wanted_channels` picks channel ids from the definitions; `window` turns the
    origin into absolute log-time bounds.
    """
    s = read_summary(src)
    if s is None or problems(s, src.size):
        return None
    st = s.stats
    assert st is not None
    data_end = s.footer.summary_start - _DATA_END_RECORD
    tail = src.read(data_end, _DATA_END_RECORD)
    if len(tail) != _DATA_END_RECORD or tail[0] != R.OP_DATA_END:
        return None
    container = Container(arena=np.zeros(0, np.uint8), messages=Messages.empty())
    if not _read_gaps(src, _gaps(s.chunk_indexes, data_end), container):
        return None
    for sid, schema in s.schemas.items():
        container.schemas.setdefault(sid, schema)
    for cid, channel in s.channels.items():
        container.channels.setdefault(cid, channel)
    container.chunk_count = len(s.chunk_indexes)
    origin = st.message_start_time if st.message_count else None
    if origin is None:
        return IndexedRead(container, None)
    wanted = wanted_channels(container.channels, container.schemas)
    lo, hi = window(origin)
    needed = [
        ci
        for ci in s.chunk_indexes
        if wanted.intersection(ci.message_index_offsets)
        and (lo is None or ci.message_end_time >= lo)
        and (hi is None or ci.message_start_time <= hi)
    ]
    all_bytes = sum(ci.chunk_length for ci in s.chunk_indexes) or 1
    if sum(ci.chunk_length for ci in needed) > _WORTH_IT * all_bytes:
        return None
    got = _read_chunks(kern, src, needed, threads, progress)
    if got is None:
        return None
    container.arena, container.messages = got
    return IndexedRead(container, origin)


def _read_gaps(src: ByteSource, gaps: list[tuple[int, int]], container: Container) -> bool:
    """Walk the bytes between chunks: only definitions and indexes may live there."""
    if sum(b - a for a, b in gaps) > _MAX_GAP_BYTES:
        return False
    for a, b in gaps:
        data = src.read(a, b - a)
        recs = R.iter_records(data)
        if len(data) != b - a or R.records_end(recs, 0) != len(data):
            return False
        view = memoryview(data)
        try:
            for op, body, length in recs:
                if op not in _GAP_OPS and op < 0x80:
                    return False
                rec = view[body : body + length]
                if op == R.OP_SCHEMA:
                    schema = R.parse_schema(rec)
                    container.schemas[schema.id] = schema
                elif op == R.OP_CHANNEL:
                    channel = R.parse_channel(rec)
                    container.channels[channel.id] = channel
                elif op == R.OP_METADATA:
                    name, values = R.parse_metadata(rec)
                    container.metadata[name] = values
        except Malformed:
            return False
    return True


def _read_chunks(
    kern: ModuleType,
    src: ByteSource,
    needed: list[ChunkIndexRecord],
    threads: int,
    progress: Callable[[float], None] | None,
) -> tuple[np.ndarray, Messages] | None:
    def fetch_record(ci: ChunkIndexRecord) -> bytes:
        return src.read(ci.chunk_start_offset, ci.chunk_length)

    if threads > 1 and len(needed) > 1:
        with ThreadPoolExecutor(max_workers=max(threads, 4)) as pool:
            raw = list(pool.map(fetch_record, needed))
    else:
        raw = [fetch_record(ci) for ci in needed]
    headers: list[ChunkHeader] = []
    payload: dict[int, memoryview] = {}
    for ci, rec in zip(needed, raw, strict=True):
        h = _check_header(ci, rec)
        if h is None:
            return None
        payload[h.record_offset] = memoryview(rec)[h.data_offset - h.record_offset :]
        headers.append(h)
    notes: list[Skipped] = []
    arena, spans = decompress_chunks(
        src, headers, threads, notes, arena_limit(src.size), 0, progress, (0.05, 0.5),
        fetch=lambda h: payload[h.record_offset],
    )  # fmt: skip
    if notes or len(spans) != len(headers):
        return None
    for (a, b, _i), ci in zip(spans.tolist(), needed, strict=True):
        if b - a != ci.uncompressed_size:
            return None
    ro = readonly(arena)
    res = scan(
        kern,
        ro,
        np.ascontiguousarray(spans[:, 0]),
        np.ascontiguousarray(spans[:, 1]),
        _CHUNK_REPORT,
    )
    if np.any(res.status != C.ST_OK) or res.short:
        return None
    msgs = res.messages
    bounds = np.searchsorted(msgs.off, spans[:, 0])
    ends = np.append(bounds[1:], len(msgs))
    for k, ci in enumerate(needed):
        part = slice(int(bounds[k]), int(ends[k]))
        if not _agrees(ci, msgs.chan[part], msgs.time[part]):
            return None
    return ro, msgs


def _check_header(ci: ChunkIndexRecord, rec: bytes) -> ChunkHeader | None:
    """The chunk record's header if it matches its index entry."""
    if len(rec) != ci.chunk_length or rec[0] != R.OP_CHUNK:
        return None
    length = struct.unpack_from("<Q", rec, 1)[0]
    if length != ci.chunk_length - R.RECORD_HEADER:
        return None
    try:
        h = R.parse_chunk_header(rec, 0, R.RECORD_HEADER, length, len(rec))
    except Malformed:
        return None
    same = (
        h.message_start_time == ci.message_start_time
        and h.message_end_time == ci.message_end_time
        and h.uncompressed_size == ci.uncompressed_size
        and h.compression == ci.compression
        and h.data_length == ci.compressed_size
    )
    if not same:
        return None
    # Offsets relative to the record bytes, shifted to file offsets for reporting.
    h.record_offset = ci.chunk_start_offset
    h.data_offset += ci.chunk_start_offset
    return h


def _agrees(ci: ChunkIndexRecord, chan: np.ndarray, time: np.ndarray) -> bool:
    if not chan.size:
        return not ci.message_index_offsets
    if int(time.min()) < ci.message_start_time or int(time.max()) > ci.message_end_time:
        return False
    present = np.unique(chan).tolist()
    return set(present) <= set(ci.message_index_offsets)
