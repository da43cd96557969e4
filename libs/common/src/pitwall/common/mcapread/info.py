"""`scan_summary`: what is in an MCAP file (channels, counts, time range) without decoding.

From the summary when it is consistent (a few small reads), else from a linear scan of
the data section (every chunk decompressed, messages counted, nothing decoded).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from pitwall.common.columns import Skipped
from pitwall.common.mcapread.container import Definitions, batches, walk_linear
from pitwall.common.mcapread.reader import check_magic
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
            defs = Definitions()
            data_end = s.footer.summary_start - _DATA_END_RECORD
            if _read_gaps(src, _gaps(s.chunk_indexes, data_end), defs):
                st = s.stats
                return McapInfo(
                    _channel_infos({**s.channels, **defs.channels}, {**s.schemas, **defs.schemas},
                                   st.channel_message_counts),
                    st.message_count,
                    st.message_start_time if st.message_count else None,
                    st.message_end_time if st.message_count else None,
                    st.chunk_count,
                    defs.metadata,
                    from_summary=True,
                    size=src.size,
                )  # fmt: skip
        layout = walk_linear(src)
        counts = np.zeros(1 << 16, np.int64)
        lo: int | None = None
        hi: int | None = None
        schemas: dict[int, SchemaRecord] = {}
        channels: dict[int, ChannelRecord] = {}
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            for batch in batches(layout, pool, threads=max(1, threads)):
                msgs = batch.messages
                for schema in batch.schemas:
                    schemas.setdefault(schema.id, schema)
                for channel in batch.channels:
                    channels.setdefault(channel.id, channel)
                if len(msgs):
                    counts += np.bincount(msgs.chan, minlength=1 << 16)
                    a, b = int(msgs.time.min()), int(msgs.time.max())
                    lo = a if lo is None else min(lo, a)
                    hi = b if hi is None else max(hi, b)
        d = layout.defs
        by_id = {int(i): int(counts[i]) for i in np.nonzero(counts)[0]}
        return McapInfo(
            _channel_infos({**d.summary_channels, **channels, **d.channels},
                           {**d.summary_schemas, **schemas, **d.schemas}, by_id),
            int(counts.sum()),
            lo,
            hi,
            len(layout.chunks),
            d.metadata,
            truncated=layout.truncated,
            lost_tail_bytes=layout.lost_tail_bytes,
            skipped=layout.skipped,
            size=src.size,
        )  # fmt: skip
    finally:
        if own:
            src.close()
