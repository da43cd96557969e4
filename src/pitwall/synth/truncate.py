"""Cut a finished MCAP file mid-record, like a logger losing power, and say what survives.

While the file is written, `Trail` notes the stream position before and after every
writer call and how many messages had been added. Afterwards the cut point is placed at
a fraction of the data section, inside a record's payload, and the messages that a
stream reader can still fully read are counted: in an unchunked file those whose Message
record ends before the cut, in a chunked file those whose Chunk record does.
"""

from __future__ import annotations

import os
import struct
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

OP_MESSAGE = 0x05
OP_CHUNK = 0x06
_HEADER_LEN = 9  # opcode (1) + record length (8)
_FOOTER_LEN = 1 + 8 + 20 + 8  # opcode, length, (summary_start, summary_offset_start, crc), magic
_DATA_END_LEN = 1 + 8 + 4


@dataclass(slots=True)
class Trail:
    """Stream position before and after each writer call that wrote something, and how
    many messages had been added by then (compact: one unchunked entry per message)."""

    before: array[int] = field(default_factory=lambda: array("q"))
    after: array[int] = field(default_factory=lambda: array("q"))
    messages: array[int] = field(default_factory=lambda: array("q"))

    def note(self, before: int, after: int, messages: int) -> None:
        if after != before:
            self.before.append(before)
            self.after.append(after)
            self.messages.append(messages)

    def call_at(self, offset: int) -> int:
        """Index of the call whose bytes hold `offset`."""
        i = int(np.searchsorted(np.frombuffer(self.after, dtype=np.int64), offset, side="right"))
        if i >= len(self.after) or self.before[i] > offset:
            raise ValueError(f"offset {offset} is not inside any record written")
        return i


def data_end_offset(path: Path) -> int:
    """Where the DataEnd record starts, from the footer of the complete file."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(size - _FOOTER_LEN)
        footer = f.read(_FOOTER_LEN)
    summary_start = struct.unpack_from("<Q", footer, 9)[0]
    if summary_start == 0:
        return size - _FOOTER_LEN - _DATA_END_LEN
    return int(summary_start) - _DATA_END_LEN


def _records(buf: bytes, base: int) -> list[tuple[int, int, int, int]]:
    """(opcode, start, end, payload start) of the records laid back to back in buf (which
    starts at file offset base). The payload is a Message's data or a Chunk's compressed
    records; for other records it starts right after the 9-byte header."""
    out = []
    pos = 0
    while pos + _HEADER_LEN <= len(buf):
        opcode = buf[pos]
        length = struct.unpack_from("<Q", buf, pos + 1)[0]
        end = pos + _HEADER_LEN + int(length)
        payload = pos + _HEADER_LEN
        if opcode == OP_MESSAGE:
            payload += 2 + 4 + 8 + 8  # channel id, sequence, log time, publish time
        elif opcode == OP_CHUNK:
            compression_len = struct.unpack_from("<I", buf, payload + 28)[0]
            payload += 8 + 8 + 8 + 4 + 4 + compression_len + 8
        out.append((opcode, base + pos, base + end, base + payload))
        pos = end
    return out


def choose_cut(path: Path, trail: Trail, fraction: float) -> int:
    """A byte offset at about `fraction` of the data section, inside a Chunk's (chunked
    files) or a Message's (unchunked) payload: where a power loss nearly always cuts, as
    those bytes are nearly all of the file. The official stream reader reports such a cut
    as EndOfFile; a cut inside a record's fixed fields surfaces as a bare struct.error
    instead (a reader quirk, not a different kind of file)."""
    target = int(data_end_offset(path) * fraction)
    with path.open("rb") as f:
        i = trail.call_at(target)
        before, after = trail.before[i], trail.after[i]
        f.seek(before)
        records = _records(f.read(after - before), before)
    bulky = [r for r in records if r[0] in (OP_CHUNK, OP_MESSAGE) and r[2] > r[3] + 1]
    hit = next(r for r in records if r[1] <= target < r[2])
    if hit not in bulky and bulky:
        hit = bulky[-1]
    _, start, end, payload = hit
    if end - payload < 2:
        return start + 1
    # The nearest byte strictly inside the payload.
    return min(max(target, payload + 1), end - 1)


def complete_messages(path: Path, trail: Trail, cut: int, chunked: bool) -> int:
    """How many messages, in write order, a stream reader still reads fully before `cut`."""
    if not chunked:
        # Each add_message call flushes its Message record last: it ends at `after`.
        i = int(np.searchsorted(np.frombuffer(trail.after, dtype=np.int64), cut, side="right"))
        return int(trail.messages[i - 1]) if i else 0
    complete = 0
    with path.open("rb") as f:
        for before, n in zip(trail.before, trail.messages, strict=True):
            if before >= cut:
                break
            f.seek(before)
            head = f.read(9)
            if head[0] != OP_CHUNK:
                continue
            chunk_end = before + 9 + struct.unpack_from("<Q", head, 1)[0]
            if chunk_end <= cut:
                complete = max(complete, n)
    return complete


def cut_file(path: Path, offset: int) -> None:
    os.truncate(path, offset)
