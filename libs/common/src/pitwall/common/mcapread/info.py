"""`scan_summary`: what is in an MCAP file (channels, counts, time range) without decoding.

From the summary when it is consistent (a few small reads), else from a linear scan of
the data section (every chunk decompressed, messages counted, nothing decoded).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from pitwall.common.columns import Kind, Skipped
from pitwall.common.mcapread.container import Definitions, batches, walk_linear
from pitwall.common.mcapread.decode import descriptor
from pitwall.common.mcapread.jsonchan import schema_leaves
from pitwall.common.mcapread.program import SchemaError, build_program
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
class SignalInfo:
    path: str  # as `--signals` and the MAT struct path name it: `vn_gps.lat`
    kind: str  # columns.Kind: double, single, int32, ..., logical, string
    repeated: bool


@dataclass(slots=True)
class ChannelInfo:
    id: int
    topic: str
    message_encoding: str
    schema_name: str
    schema_encoding: str
    message_count: int
    # Filled by scan_summary(signals=True): the signals a conversion can export, from
    # the schema alone (a JSON channel's fields outside its schema appear only then).
    signals: list[SignalInfo] = field(default_factory=list)
    problem: str = ""  # why none can be exported (unsupported encoding, bad schema)
    not_exported: list[tuple[str, str]] = field(default_factory=list)  # (path, why): bytes fields


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
    channels: dict[int, ChannelRecord],
    schemas: dict[int, SchemaRecord],
    counts: dict[int, int],
    signals: bool,
) -> list[ChannelInfo]:
    out = []
    for cid in sorted(channels):
        ch = channels[cid]
        schema = schemas.get(ch.schema_id)
        info = ChannelInfo(
            cid, ch.topic, ch.message_encoding,
            schema.name if schema else "", schema.encoding if schema else "",
            int(counts.get(cid, 0)),
        )  # fmt: skip
        if signals:
            info.signals, info.not_exported, info.problem = _signals_of(ch, schema)
        out.append(info)
    return out


_Signals = tuple[list[SignalInfo], list[tuple[str, str]], str]


def _signals_of(ch: ChannelRecord, schema: SchemaRecord | None) -> _Signals:
    """What a conversion of this channel would export (and not), read from its schema."""
    if ch.message_encoding == "protobuf":
        if schema is None or schema.encoding != "protobuf":
            return [], [], "protobuf channel without a protobuf schema"
        try:
            prog = build_program(descriptor(schema), ch.topic)
        except SchemaError as exc:
            return [], [], str(exc)
        leaves = [SignalInfo(leaf.path, leaf.kind, leaf.repeated) for leaf in prog.leaves]
        return leaves, list(prog.unsupported), ""
    if ch.message_encoding == "json":
        if schema is None or schema.encoding != "jsonschema":
            return [], [], ""  # fields are discovered from the messages when converting
        try:
            doc = json.loads(bytes(schema.data))
        except (ValueError, RecursionError) as exc:  # deep nesting: as jsonchan does
            return [], [], f"JSON schema is not JSON: {exc}"
        kinds: dict[str, Kind | None] = {}
        schema_leaves(doc, "", 0, kinds)
        exported = [SignalInfo(path, kind, False) for path, kind in kinds.items() if kind]
        others = [(path, "arrays and untyped JSON values are not exported") for path, kind in kinds.items() if not kind]
        return exported, others, ""
    return [], [], f"message encoding {ch.message_encoding!r} is not supported"


def scan_summary(source: Sourceish, *, threads: int = 2, signals: bool = False) -> McapInfo:
    """What the file holds; with `signals`, also each channel's exportable signals."""
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
                                   st.channel_message_counts, signals),
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
                           {**d.summary_schemas, **schemas, **d.schemas}, by_id, signals),
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
