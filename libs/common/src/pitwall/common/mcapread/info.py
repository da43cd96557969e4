"""`scan_summary`: what is in an MCAP file (channels, counts, time range) without decoding.

From the summary when it is consistent (a few small reads), else from a linear scan of
the data section (every chunk decompressed, messages counted, nothing decoded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pitwall.common.columns import Skipped
from pitwall.common.mcapread.container import Container, Messages, read_linear
from pitwall.common.mcapread.reader import check_magic, preload_kernels
from pitwall.common.mcapread.records import ChannelRecord, SchemaRecord
from pitwall.common.mcapread.source import ByteSource, Sourceish, open_source
from pitwall.common.mcapread.summary import (
    _DATA_END_RECORD,
    _gaps,
    _read_gaps,
    problems,
    read_summary,
)


@dataclass(slots=True)
class ChannelInfo:
    id: int
    topic: str
    message_encoding: str
    schema_name: str
    schema_encoding: str
    message_count: int


@dataclass(slots=True)
class McapInfo:
    channels: list[ChannelInfo]
    message_count: int
    start_ns: int | None  # log time of the first message
    end_ns: int | None  # log time of the last message
    chunk_count: int
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    from_summary: bool = False  # True: the (consistent) summary answered
    truncated: bool = False
    lost_tail_bytes: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    size: int = 0


def _channel_infos(
    channels: dict[int, ChannelRecord], schemas: dict[int, SchemaRecord], counts: dict[int, int]
) -> list[ChannelInfo]:
    out = []
    for cid in sorted(channels):
        ch = channels[cid]
        schema = schemas.get(ch.schema_id)
        out.append(
            ChannelInfo(
                cid, ch.topic, ch.message_encoding,
                schema.name if schema else "", schema.encoding if schema else "",
                int(counts.get(cid, 0)),
            )
        )  # fmt: skip
    return out


def scan_summary(source: Sourceish, *, threads: int = 2) -> McapInfo:
    own = not isinstance(source, ByteSource)
    src = open_source(source)
    try:
        check_magic(src)
        s = read_summary(src)
        if s is not None and s.stats is not None and not problems(s, src.size):
            c = Container(arena=np.zeros(0, np.uint8), messages=Messages.empty())
            data_end = s.footer.summary_start - _DATA_END_RECORD
            if _read_gaps(src, _gaps(s.chunk_indexes, data_end), c):
                st = s.stats
                schemas = {**s.schemas, **c.schemas}
                channels = {**s.channels, **c.channels}
                return McapInfo(
                    _channel_infos(channels, schemas, st.channel_message_counts),
                    st.message_count,
                    st.message_start_time if st.message_count else None,
                    st.message_end_time if st.message_count else None,
                    st.chunk_count,
                    c.metadata,
                    from_summary=True,
                    size=src.size,
                )
        kern = preload_kernels().result()
        c = read_linear(kern, src, threads)
        msgs = c.messages
        counts = np.bincount(msgs.chan, minlength=1) if len(msgs) else np.zeros(0, np.int64)
        by_id = {int(i): int(n) for i, n in enumerate(counts.tolist()) if n}
        schemas = {**c.summary_schemas, **c.schemas}
        channels = {**c.summary_channels, **c.channels}
        return McapInfo(
            _channel_infos(channels, schemas, by_id),
            len(msgs),
            int(msgs.time.min()) if len(msgs) else None,
            int(msgs.time.max()) if len(msgs) else None,
            c.chunk_count,
            c.metadata,
            truncated=c.truncated,
            lost_tail_bytes=c.lost_tail_bytes,
            skipped=c.skipped,
            size=src.size,
        )
    finally:
        if own:
            src.close()
