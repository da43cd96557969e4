"""`read_recording`: MCAP bytes -> `Recording`, in one pass whatever the topics.

Stages: check the magic; if the selection restricts topics or time and the summary is
consistent, read only the chunks needed (`summary.read_indexed`), else walk the whole
file (`container.read_linear`); then group messages by channel, keep the window, and
decode each wanted channel over all its messages at once (protobuf: compiled kernel on
a thread pool; JSON: Python). The compiled kernels are loaded on a background thread
while the file is opened and read.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from google.protobuf.descriptor import Descriptor
from pitwall.common.columns import Recording, Skipped, TopicColumns
from pitwall.common.mcapread import records as R
from pitwall.common.mcapread.container import Container, Messages, read_linear
from pitwall.common.mcapread.errors import NotMcapError
from pitwall.common.mcapread.jsonchan import decode_json_channel
from pitwall.common.mcapread.program import Program, SchemaError, build_program, load_message_type
from pitwall.common.mcapread.protobuf import ChannelResult, ProtobufBatch
from pitwall.common.mcapread.records import ChannelRecord, SchemaRecord
from pitwall.common.mcapread.source import ByteSource, Sourceish, open_source
from pitwall.common.mcapread.summary import read_indexed
from pitwall.common.selection import Selection

_KERNELS = "pitwall.common.mcapread.kernels"


def _no_hugepage_hint() -> None:
    """Stop numpy from asking for transparent huge pages on large allocations.

    The reader writes every page of big fresh buffers (the decompressed arena, the
    columns) exactly once; on the VMs measured here the huge-page hint made that first
    touch ~5x slower (381 MB: 1.05 s against 0.18 s). Process-wide, like numpy's own
    NUMPY_MADVISE_HUGEPAGE=0.
    """
    try:
        from numpy._core.multiarray import _set_madvise_hugepage

        _set_madvise_hugepage(False)
    except (ImportError, AttributeError):  # pragma: no cover - other numpy layouts
        pass


_no_hugepage_hint()
_lock = threading.Lock()
_future: Future[ModuleType] | None = None


def preload_kernels() -> Future[ModuleType]:
    """Start loading (or compiling, on a cold cache) the kernels on a background thread.

    Call it early (a CLI at start-up) to hide the load behind other work; the reader
    calls it itself.
    """
    global _future
    with _lock:
        if _future is None:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pitwall-jit")
            _future = pool.submit(importlib.import_module, _KERNELS)
            pool.shutdown(wait=False)
        return _future


def check_magic(src: ByteSource) -> None:
    head = src.read(0, len(R.MAGIC))
    if len(head) < len(R.MAGIC):
        raise NotMcapError(f"not an MCAP file: {src.name} is only {src.size} bytes long")
    if head != R.MAGIC:
        raise NotMcapError(f"not an MCAP file: {src.name} does not start with the MCAP magic")


def read_recording(
    source: Sourceish,
    selection: Selection | None = None,
    *,
    progress: Callable[[float], None] | None = None,
    threads: int = 2,
) -> Recording:
    """Read an MCAP file (path, bytes, `RangeSource`) into columns.

    Raises `NotMcapError` when the input is not MCAP at all; any damage inside an MCAP
    file is reported in `Recording.skipped` instead. `progress` is called with a
    fraction in [0, 1] from the calling thread. `Recording.message_count` counts the
    messages returned (after selection and window).
    """
    kernels = preload_kernels()
    sel = selection or Selection()
    threads = max(1, int(threads))
    own = not isinstance(source, ByteSource)
    src = open_source(source)
    try:
        check_magic(src)
        kern = kernels.result()
        container: Container | None = None
        origin: int | None = None
        if sel.topics is not None or sel.signals or sel.has_window:
            indexed = read_indexed(
                kern, src, lambda chans, schemas: _wanted_ids(chans, schemas, sel),
                sel.window_ns, threads, progress,
            )  # fmt: skip
            if indexed is not None:
                container, origin = indexed.container, indexed.origin_ns
        if container is None:
            container = read_linear(kern, src, threads, progress)
            times = container.messages.time
            origin = int(times.min()) if times.size else None
        rec = _decode(kern, container, origin, sel, threads, progress)
        rec.source_size = src.size
        del container
        return rec
    finally:
        if own:
            src.close()


# ---------------------------------------------------------------------------------------


@dataclass
class _Group:
    """Messages of one topic (channels of one topic with the same schema merge)."""

    key: str
    topic: str
    encoding: str
    schema: SchemaRecord | None
    channel_ids: list[int]
    rows: np.ndarray  # indices into the (windowed) message arrays, file order


def _schema_of(c: Container, ch: ChannelRecord) -> SchemaRecord | None:
    if ch.schema_id == 0:
        return None
    return c.schemas.get(ch.schema_id) or c.summary_schemas.get(ch.schema_id)


_desc_cache: dict[tuple[str, bytes], Descriptor] = {}


def _descriptor(schema: SchemaRecord) -> Descriptor:
    key = (schema.name, schema.data)
    desc = _desc_cache.get(key)
    if desc is None:
        desc = load_message_type(schema.name, schema.data)
        if len(_desc_cache) > 256:
            _desc_cache.clear()
        _desc_cache[key] = desc
    return desc


def _wanted_ids(
    channels: dict[int, ChannelRecord], schemas: dict[int, SchemaRecord], sel: Selection
) -> set[int]:
    """Channels a selection needs any message of (for choosing chunks)."""
    out: set[int] = set()
    for cid, ch in channels.items():
        if not sel.wants_topic(ch.topic):
            continue
        if not sel.signals or ch.message_encoding != "protobuf":
            out.add(cid)
            continue
        schema = schemas.get(ch.schema_id)
        try:
            prog = build_program(_descriptor(schema), ch.topic, sel) if schema else None
        except SchemaError:
            prog = None
        if prog is None or prog.leaves or prog.unsupported:
            out.add(cid)
    return out


def _window(msgs: Messages, origin: int | None, sel: Selection) -> Messages:
    if origin is None or not sel.has_window or not len(msgs):
        return msgs
    lo, hi = sel.window_ns(origin)
    mask = np.ones(len(msgs), dtype=np.bool_)
    if lo is not None:
        mask &= msgs.time >= lo
    if hi is not None:
        mask &= msgs.time <= hi
    if mask.all():
        return msgs
    return Messages(msgs.chan[mask], msgs.time[mask], msgs.off[mask], msgs.length[mask])


def _groups(c: Container, msgs: Messages, sel: Selection, skipped: list[Skipped]) -> list[_Group]:
    order = np.argsort(msgs.chan, kind="stable")
    ids, starts, counts = np.unique(msgs.chan[order], return_index=True, return_counts=True)
    rows_of = {
        int(cid): order[s : s + n]
        for cid, s, n in zip(ids.tolist(), starts.tolist(), counts.tolist(), strict=True)
    }
    defined = dict(c.summary_channels)
    defined.update(c.channels)
    for cid in sorted(set(rows_of) - set(defined)):
        skipped.append(
            Skipped(
                f"channel {cid}", "messages on a channel with no channel record", len(rows_of[cid])
            )
        )
    groups: dict[str, _Group] = {}
    for cid in sorted(defined):
        ch = defined[cid]
        if not sel.wants_topic(ch.topic):
            continue
        rows = rows_of.get(cid, np.zeros(0, np.int64))
        schema = _schema_of(c, ch)
        same = groups.get(ch.topic)
        if (
            same is not None
            and same.encoding == ch.message_encoding
            and _same_schema(same.schema, schema)
        ):
            same.channel_ids.append(cid)
            same.rows = np.sort(np.concatenate((same.rows, rows)))
            continue
        key = ch.topic if same is None else f"{ch.topic}#{cid}"
        groups[key] = _Group(key, ch.topic, ch.message_encoding, schema, [cid], rows)
    return list(groups.values())


def _same_schema(a: SchemaRecord | None, b: SchemaRecord | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.name, a.encoding, a.data) == (b.name, b.encoding, b.data)


def _decode(
    kern: ModuleType,
    c: Container,
    origin: int | None,
    sel: Selection,
    threads: int,
    progress: Callable[[float], None] | None,
) -> Recording:
    skipped = list(c.skipped)
    msgs = _window(c.messages, origin, sel)
    groups = _groups(c, msgs, sel, skipped)
    buf = c.arena
    results: dict[str, ChannelResult] = {}
    proto: list[tuple[_Group, Program]] = []
    for g in groups:
        n = len(g.rows)
        enc = g.encoding
        if enc == "protobuf":
            if g.schema is None or g.schema.encoding != "protobuf":
                skipped.append(Skipped(g.topic, "protobuf channel without a protobuf schema", n))
                continue
            try:
                prog = build_program(_descriptor(g.schema), g.topic, sel)
            except SchemaError as exc:
                skipped.append(Skipped(g.topic, str(exc), n))
                continue
            for path, reason in prog.unsupported:
                skipped.append(Skipped(f"{g.topic}:{path}", reason, n))
            if sel.signals and not prog.leaves:
                continue
            proto.append((g, prog))
        elif enc == "json":
            data = (
                g.schema.data
                if g.schema is not None and g.schema.encoding == "jsonschema"
                else None
            )
            res = decode_json_channel(
                buf, msgs.off[g.rows], msgs.length[g.rows], data, g.topic, sel
            )
            if sel.signals and not res.signals:
                continue
            results[g.key] = res
        else:
            skipped.append(Skipped(g.topic, f"message encoding {enc!r} is not supported", n))

    if proto:
        batch = ProtobufBatch(buf, msgs.off, msgs.length, [(prog, g.rows) for g, prog in proto])
        _run_batch(kern, batch, threads, progress)
        for k, (g, _) in enumerate(proto):
            results[g.key] = batch.finish(kern, k)

    topics: dict[str, TopicColumns] = {}
    total = 0
    for g in groups:
        res = results.get(g.key)
        if res is None:
            continue
        times = msgs.time[g.rows]
        if res.keep is not None:
            times = times[res.keep]
        if res.invalid:
            reason = (
                "message is not valid JSON"
                if g.encoding == "json"
                else "message is not valid protobuf"
            )
            skipped.append(Skipped(g.topic, f"{reason}: dropped", res.invalid))
        for path, reason, count in res.notes:
            skipped.append(Skipped(f"{g.topic}:{path}", reason, count))
        schema_name = g.schema.name if g.schema is not None else ""
        encoding = "protobuf" if g.encoding == "protobuf" else "jsonschema"
        topics[g.key] = TopicColumns(g.topic, schema_name, encoding, times, res.signals)
        total += int(times.shape[0])
    if progress:
        progress(1.0)
    return Recording(
        topics=topics,
        origin_ns=origin,
        metadata=c.metadata,
        skipped=skipped,
        truncated=c.truncated,
        lost_tail_bytes=c.lost_tail_bytes,
        message_count=total,
    )


def _run_batch(
    kern: ModuleType,
    batch: ProtobufBatch,
    threads: int,
    progress: Callable[[float], None] | None,
) -> None:
    """Decode the batch on `threads` threads, each on consecutive messages."""
    # More pieces than threads so progress moves and a slow piece does not idle a core.
    parts = batch.split(threads * 4 if threads > 1 else 4)
    total = len(parts)

    def run(part: tuple[int, int]) -> None:
        batch.run(kern, *part)

    if threads > 1 and total > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for done, _ in enumerate(pool.map(run, parts), 1):
                if progress:
                    progress(0.5 + 0.45 * done / total)
    else:
        for done, part in enumerate(parts, 1):
            run(part)
            if progress:
                progress(0.5 + 0.45 * done / total)
