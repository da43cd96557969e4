"""Bounds-checked parsing of the few MCAP records the reader handles in Python.

Messages are scanned by the compiled kernel; the records here (schemas, channels,
chunk headers, metadata, summary records) are few. Every read is checked against the
record's own length, so a damaged record raises `Malformed` instead of reading past it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

from pitwall.common.contracts.mcap import MAGIC  # noqa: F401  (re-exported for the reader)

RECORD_HEADER = 9  # opcode (1) + length (8)
FOOTER_RECORD = RECORD_HEADER + 20

OP_HEADER = 0x01
OP_FOOTER = 0x02
OP_SCHEMA = 0x03
OP_CHANNEL = 0x04
OP_MESSAGE = 0x05
OP_CHUNK = 0x06
OP_MESSAGE_INDEX = 0x07
OP_CHUNK_INDEX = 0x08
OP_ATTACHMENT = 0x09
OP_ATTACHMENT_INDEX = 0x0A
OP_STATISTICS = 0x0B
OP_METADATA = 0x0C
OP_METADATA_INDEX = 0x0D
OP_SUMMARY_OFFSET = 0x0E
OP_DATA_END = 0x0F

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


Bytesish: TypeAlias = bytes | bytearray | memoryview | np.ndarray


class Malformed(ValueError):
    """A record whose fields do not fit inside it."""


def _view(buf: Bytesish) -> memoryview:
    return buf.data if isinstance(buf, np.ndarray) else memoryview(buf)


class _Fields:
    """Sequential little-endian reads inside one record body."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: Bytesish, start: int = 0, end: int | None = None) -> None:
        self.buf = _view(buf)
        self.pos = start
        self.end = len(buf) if end is None else min(end, len(buf))

    def _take(self, n: int) -> int:
        if n < 0 or self.pos + n > self.end:
            raise Malformed("field runs past the end of its record")
        at = self.pos
        self.pos += n
        return at

    def u16(self) -> int:
        return int(_U16.unpack_from(self.buf, self._take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack_from(self.buf, self._take(4))[0])

    def u64(self) -> int:
        return int(_U64.unpack_from(self.buf, self._take(8))[0])

    def raw(self, n: int) -> bytes:
        at = self._take(n)
        return bytes(self.buf[at : at + n])

    def string(self) -> str:
        return self.raw(self.u32()).decode("utf-8", errors="replace")

    def string_map(self) -> dict[str, str]:
        total = self.u32()
        stop = self.pos + total
        if stop > self.end:
            raise Malformed("map runs past the end of its record")
        out: dict[str, str] = {}
        while self.pos < stop:
            key = self.string()
            out[key] = self.string()
        if self.pos != stop:
            raise Malformed("map length disagrees with its entries")
        return out


@dataclass(slots=True)
class SchemaRecord:
    id: int
    name: str
    encoding: str
    data: bytes


@dataclass(slots=True)
class ChannelRecord:
    id: int
    schema_id: int
    topic: str
    message_encoding: str
    metadata: dict[str, str]


@dataclass(slots=True)
class ChunkHeader:
    """A chunk record's header; the compressed data sits at `data_offset` in the file."""

    record_offset: int
    message_start_time: int
    message_end_time: int
    uncompressed_size: int
    uncompressed_crc: int
    compression: str
    data_offset: int
    data_length: int
    # Bytes of compressed data actually present (less than data_length when cut off).
    available: int


@dataclass(slots=True)
class ChunkIndexRecord:
    message_start_time: int
    message_end_time: int
    chunk_start_offset: int
    chunk_length: int
    message_index_offsets: dict[int, int]
    message_index_length: int
    compression: str
    compressed_size: int
    uncompressed_size: int


@dataclass(slots=True)
class StatisticsRecord:
    message_count: int
    schema_count: int
    channel_count: int
    attachment_count: int
    metadata_count: int
    chunk_count: int
    message_start_time: int
    message_end_time: int
    channel_message_counts: dict[int, int] = field(default_factory=dict)


@dataclass(slots=True)
class FooterRecord:
    summary_start: int
    summary_offset_start: int
    summary_crc: int


def parse_schema(body: Bytesish) -> SchemaRecord:
    f = _Fields(body)
    sid = f.u16()
    name = f.string()
    encoding = f.string()
    data = f.raw(f.u32())
    return SchemaRecord(sid, name, encoding, data)


def parse_channel(body: Bytesish) -> ChannelRecord:
    f = _Fields(body)
    cid = f.u16()
    schema_id = f.u16()
    topic = f.string()
    encoding = f.string()
    metadata = f.string_map()
    return ChannelRecord(cid, schema_id, topic, encoding, metadata)


def parse_metadata(body: Bytesish) -> tuple[str, dict[str, str]]:
    f = _Fields(body)
    name = f.string()
    return name, f.string_map()


def parse_chunk_header(
    buf: Bytesish,
    record_offset: int,
    body_start: int,
    body_length: int,
    available_end: int,
) -> ChunkHeader:
    """Parse a chunk record whose body starts at `body_start` in `buf`.

    `available_end` is where the readable bytes stop (the file size for a cut file),
    which may be before the record's declared end.
    """
    f = _Fields(buf, body_start, min(body_start + body_length, available_end))
    start = f.u64()
    end = f.u64()
    usize = f.u64()
    crc = f.u32()
    comp_len = f.u32()
    if comp_len > 16:
        raise Malformed("implausible compression name")
    compression = f.raw(comp_len).decode("ascii", errors="replace")
    data_length = f.u64()
    data_offset = f.pos
    declared_end = body_start + body_length
    if data_offset + data_length != declared_end:
        raise Malformed("chunk data length disagrees with the record length")
    available = max(0, min(declared_end, available_end) - data_offset)
    return ChunkHeader(
        record_offset, start, end, usize, crc, compression, data_offset, data_length, available
    )


def parse_chunk_index(body: Bytesish) -> ChunkIndexRecord:
    f = _Fields(body)
    start = f.u64()
    end = f.u64()
    offset = f.u64()
    length = f.u64()
    n = f.u32()
    if n % 10:
        raise Malformed("message index offsets length not a multiple of 10")
    at = f._take(n)
    # One unpack for the whole map: an index of a long recording holds chunks x channels
    # entries (18 k in a 10-minute file), too many for a call per field.
    pairs = struct.iter_unpack("<HQ", bytes(body[at : at + n]))
    offsets: dict[int, int] = dict(pairs)
    mi_length = f.u64()
    compression = f.string()
    compressed = f.u64()
    uncompressed = f.u64()
    return ChunkIndexRecord(
        start, end, offset, length, offsets, mi_length, compression, compressed, uncompressed
    )


def parse_statistics(body: Bytesish) -> StatisticsRecord:
    f = _Fields(body)
    stats = StatisticsRecord(
        message_count=f.u64(),
        schema_count=f.u16(),
        channel_count=f.u32(),
        attachment_count=f.u32(),
        metadata_count=f.u32(),
        chunk_count=f.u32(),
        message_start_time=f.u64(),
        message_end_time=f.u64(),
    )
    n = f.u32()
    if n % 10:
        raise Malformed("channel message counts length not a multiple of 10")
    stop = f.pos + n
    while f.pos < stop:
        cid = f.u16()
        stats.channel_message_counts[cid] = f.u64()
    return stats


def parse_footer(body: Bytesish) -> FooterRecord:
    f = _Fields(body)
    return FooterRecord(f.u64(), f.u64(), f.u32())


def iter_records(
    buf: Bytesish, start: int = 0, end: int | None = None
) -> list[tuple[int, int, int]]:
    """(opcode, body offset, body length) of each complete record in `buf[start:end]`.

    Stops quietly at the first record that does not fit: callers of this helper read
    small regions (summary sections, gaps between chunks) and check the stop position.
    """
    buf = _view(buf)
    stop = len(buf) if end is None else min(end, len(buf))
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos + RECORD_HEADER <= stop:
        op = buf[pos]
        length = int(_U64.unpack_from(buf, pos + 1)[0])
        if op == 0 or length > stop - pos - RECORD_HEADER:
            break
        out.append((op, pos + RECORD_HEADER, length))
        pos += RECORD_HEADER + length
    return out


def records_end(records: list[tuple[int, int, int]], start: int) -> int:
    """Offset just past the last record of `iter_records`' result (or `start`)."""
    if not records:
        return start
    _, body, length = records[-1]
    return body + length
