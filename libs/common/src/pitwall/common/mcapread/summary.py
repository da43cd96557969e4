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
from dataclasses import dataclass, field

import numpy as np

from pitwall.common.mcapread import records as R
from pitwall.common.mcapread.container import (
    COMPRESSIONS,
    MAX_RATIO,
    Definitions,
    IndexMismatch,
    Layout,
    Messages,
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
# A chunk record without its compression name and data: header, times, sizes, CRC,
# the name's and the data's length prefixes.
_CHUNK_FIXED = R.RECORD_HEADER + 8 + 8 + 8 + 4 + 4 + 8
_MAX_SUMMARY = 256 << 20
_MAX_GAP_BYTES = 64 << 20
# Below this share of the chunk bytes an indexed read is worth its extra checks.
_WORTH_IT = 0.8
_GAP_OPS = {
    R.OP_HEADER, R.OP_SCHEMA, R.OP_CHANNEL, R.OP_MESSAGE_INDEX, R.OP_ATTACHMENT,
    R.OP_METADATA, R.OP_DATA_END,
}  # fmt: skip


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
        # The sizes an indexed read reserves memory by must be the chunk record's own:
        # an index claiming a terabyte made each chunk ask for MAX_SLOT (2 GiB) before
        # its record was fetched and checked (found by fuzzing; where that much could not
        # be had, the chunks were skipped and a selected read returned nothing).
        if ci.compressed_size != ci.chunk_length - _CHUNK_FIXED - len(ci.compression):
            found.append("a chunk index's compressed size disagrees with its chunk length")
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


def plan_indexed(
    src: ByteSource,
    wanted_channels: Callable[[Definitions], set[int]],
    window: Callable[[int], tuple[int | None, int | None]],
) -> tuple[Layout, int | None] | None:
    """A layout of only the chunks a selection needs, and the file's origin; or None
    to fall back to a linear read (no summary, an inconsistent one, or no saving).

    `wanted_channels` picks channel ids from the definitions; `window` turns the origin
    into absolute log-time bounds. Chunk records are fetched (ranged reads) and checked
    against their index entries only when the batches ask for them; a disagreement then
    raises `IndexMismatch`, on which the caller starts over with a linear read.
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
    defs = Definitions(summary_schemas=dict(s.schemas), summary_channels=dict(s.channels))
    if not _read_gaps(src, _gaps(s.chunk_indexes, data_end), defs):
        return None
    origin = st.message_start_time if st.message_count else None
    layout = Layout(np.zeros(0, np.uint8), Messages.empty(), [], [], defs)
    if origin is None:
        return layout, None
    wanted = wanted_channels(defs)
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
    by_offset = {ci.chunk_start_offset: ci for ci in needed}
    for ci in needed:
        # Provisional headers from the index; each is checked against the chunk record
        # itself when fetched.
        layout.chunks.append(
            ChunkHeader(
                ci.chunk_start_offset, ci.message_start_time, ci.message_end_time,
                ci.uncompressed_size, 0, ci.compression, -1, ci.compressed_size,
                ci.compressed_size,
            )
        )  # fmt: skip
        layout.chunk_counts.append(None)

    def fetch(h: ChunkHeader) -> bytes | memoryview:
        ci = by_offset[h.record_offset]
        rec = src.read(ci.chunk_start_offset, ci.chunk_length)
        real = _check_header(ci, rec)
        if real is None:
            raise IndexMismatch
        # The real CRC, checked by the decompression like any chunk's.
        h.uncompressed_crc = real.uncompressed_crc
        return memoryview(rec)[real.data_offset - real.record_offset :]

    def verify(chunk: int, msgs: Messages) -> bool:
        return _agrees(by_offset[layout.chunks[chunk].record_offset], msgs.chan, msgs.time)

    layout.fetch = fetch
    layout.verify = verify
    # Columns sized from the statistics, scaled to the share of each channel's chunks
    # read (a hint: they grow if it is short).
    holding: dict[int, int] = {}
    reading: dict[int, int] = {}
    for ci in s.chunk_indexes:
        for cid in ci.message_index_offsets:
            holding[cid] = holding.get(cid, 0) + 1
    for ci in needed:
        for cid in ci.message_index_offsets:
            reading[cid] = reading.get(cid, 0) + 1
    room = sum(min(ci.uncompressed_size, ci.compressed_size * MAX_RATIO) for ci in needed) // (
        R.RECORD_HEADER + 22
    )
    layout.hint = {
        cid: min(st.channel_message_counts.get(cid, 0) * n // max(holding.get(cid, 1), 1), room)
        for cid, n in reading.items()
    }
    return layout, origin


def _read_gaps(src: ByteSource, gaps: list[tuple[int, int]], defs: Definitions) -> bool:
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
                    defs.schemas[schema.id] = schema
                elif op == R.OP_CHANNEL:
                    channel = R.parse_channel(rec)
                    defs.channels[channel.id] = channel
                elif op == R.OP_METADATA:
                    name, values = R.parse_metadata(rec)
                    defs.metadata[name] = values
        except Malformed:
            return False
    return True


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
    return h if same else None


def _agrees(ci: ChunkIndexRecord, chan: np.ndarray, time: np.ndarray) -> bool:
    """Whether a chunk's messages fit its index entry (channels and time range)."""
    if not chan.size:
        return not ci.message_index_offsets
    if int(time.min()) < ci.message_start_time or int(time.max()) > ci.message_end_time:
        return False
    return set(np.unique(chan).tolist()) <= set(ci.message_index_offsets)
