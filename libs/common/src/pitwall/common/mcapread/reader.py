"""`read_recording`: MCAP bytes -> `Recording`, in one pass whatever the topics.

Stages: check the magic; if the selection restricts topics or time and the summary is
consistent, plan a read of only the chunks needed (`summary.plan_indexed`), else walk
the top level of the whole file (`container.walk_linear`); then decode the messages
batch by batch in file order (`decode.Decoder`: protobuf by the compiled kernel on a
thread pool, JSON in Python) while the next batch decompresses on another pool.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pitwall.common.columns import Recording, Skipped
from pitwall.common.mcapread import records as R
from pitwall.common.mcapread.container import (
    Definitions,
    IndexMismatch,
    Layout,
    batches,
    walk_linear,
)
from pitwall.common.mcapread.decode import Decoder, descriptor
from pitwall.common.mcapread.errors import NotMcapError
from pitwall.common.mcapread.program import SchemaError, build_program
from pitwall.common.mcapread.source import ByteSource, Sourceish, open_source
from pitwall.common.mcapread.summary import plan_indexed
from pitwall.common.selection import Selection


def _no_hugepage_hint() -> None:
    """Stop numpy from asking for transparent huge pages on large allocations.

    The reader writes every page of big fresh buffers (the decompressed arena, the
    columns) exactly once; on the VMs measured here the huge-page hint made that first
    touch ~5x slower (381 MB: 1.05 s against 0.18 s). Process-wide, like numpy's own
    NUMPY_MADVISE_HUGEPAGE=0.
    """
    try:
        from numpy._core.multiarray import (  # type: ignore[attr-defined]
            _set_madvise_hugepage,
        )

        _set_madvise_hugepage(False)
    except (ImportError, AttributeError):  # pragma: no cover - other numpy layouts
        pass


_no_hugepage_hint()


@dataclass
class _Pools:
    unzip: ThreadPoolExecutor
    decode: ThreadPoolExecutor


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
    progress = _monotonic(progress)
    sel = selection or Selection()
    threads = max(1, int(threads))
    own = not isinstance(source, ByteSource)
    src = open_source(source)
    # Decompression and decoding get a pool each: the next batch decompresses while the
    # current one decodes, instead of the decode queueing behind it.
    pools = (
        _Pools(
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pitwall-unzip"),
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pitwall-decode"),
        )
        if threads > 1
        else None
    )
    try:
        check_magic(src)
        rec: Recording | None = None
        index_lied = False
        if sel.topics is not None or sel.signals or sel.has_window:
            plan = plan_indexed(src, lambda defs: _wanted_ids(defs, sel), sel.window_ns)
            if plan is not None:
                layout, origin = plan
                try:
                    rec = _read(layout, sel, pools, threads, progress, origin)
                except IndexMismatch:
                    index_lied = True  # the index lied about a chunk: read the data section
        if rec is None:
            layout = walk_linear(src)
            rec = _read(layout, sel, pools, threads, progress, None)
            if index_lied:
                reason = "chunk index disagrees with the data section: file read in full"
                rec.skipped.insert(0, Skipped("summary", reason, 0))
        rec.source_size = src.size
        return rec
    finally:
        if pools is not None:
            pools.unzip.shutdown(wait=True)
            pools.decode.shutdown(wait=True)
        if own:
            src.close()


def _read(
    layout: Layout,
    sel: Selection,
    pools: _Pools | None,
    threads: int,
    progress: Callable[[float], None] | None,
    origin: int | None,
) -> Recording:
    """Decode the batches of a layout. `origin` known up front (indexed read) lets the
    window drop messages before they are decoded; otherwise it is the earliest log time
    seen and the window applies at the end."""
    skipped = layout.skipped
    dec = Decoder(
        layout.defs,
        sel,
        skipped,
        pools.decode if pools else None,
        threads,
        layout.expected_counts(),
    )
    early = sel.window_ns(origin) if origin is not None and sel.has_window else None
    if progress:
        progress(0.02)
    for batch in batches(layout, pools.unzip if pools else None, threads=threads):
        dec.feed(batch, early)
        if progress:
            progress(0.02 + 0.93 * batch.done)
    if origin is None:
        origin = dec.time_min
    window = sel.window_ns(origin) if origin is not None and sel.has_window else None
    topics = dec.finish(origin, window)
    if progress:
        progress(1.0)
    return Recording(
        topics=topics,
        origin_ns=origin,
        metadata=layout.defs.metadata,
        skipped=skipped,
        truncated=layout.truncated,
        lost_tail_bytes=layout.lost_tail_bytes,
        message_count=sum(tc.count for tc in topics.values()),
    )


def _monotonic(progress: Callable[[float], None] | None) -> Callable[[float], None] | None:
    """Progress that never goes back (a fallback to a full read starts over)."""
    if progress is None:
        return None
    best = [0.0]
    report = progress

    def forward(fraction: float) -> None:
        if fraction >= best[0]:
            best[0] = fraction
            report(fraction)

    return forward


def _wanted_ids(defs: Definitions, sel: Selection) -> set[int]:
    """Channels a selection needs any message of (for choosing chunks)."""
    out: set[int] = set()
    for cid in set(defs.channels) | set(defs.summary_channels):
        ch = defs.channel(cid)
        if ch is None or not sel.may_want_signals_of(ch.topic):
            continue
        if not sel.signals or ch.message_encoding != "protobuf":
            out.add(cid)
            continue
        schema = defs.schema(ch.schema_id)
        try:
            prog = build_program(descriptor(schema), ch.topic, sel) if schema else None
        except SchemaError:
            prog = None
        if prog is None or prog.leaves or prog.unsupported:
            out.add(cid)
    return out
