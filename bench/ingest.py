"""Section 3 (issue 5): ingest throughput, and the signal store against decoding the MCAP.

End to end on real servers: the 10-minute synth run is uploaded to S3, `file.uploaded`
is published, and the clock stops when the ingest service has written the run document
(download + SHA-256, decode, statistics, signal store to S3, MongoDB writes). Beside it:
the same stages in this process one by one (where the time goes), and the converter's
full conversion of the same file. Then 5 signals read back from the signal store (as the
API reads them) against decoding the same 5 signals from the MCAP.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import inputs
from bench.context import FIVE_SIGNALS, REPO, Context
from bench.measure import median, run_process
from bench.report import Section, mb, rate, ratio, say, secs

# Ingest's file work (decode in passes, digest, signal store) in a fresh process.
_DIGEST_SCRIPT = """
import sys
from pitwall.ingest.ingestor import digest_file
d = digest_file(sys.argv[1], lambda key, data: None, "bench", int(sys.argv[2]) << 20)
print(d.passes)
"""


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def best_of(times: int, fn: Callable[[], Any]) -> tuple[Any, list[float]]:
    """Run `fn` `times` times after one untimed warm-up; (last value, seconds of each)."""
    value = fn()
    runs = []
    for _ in range(times):
        value, s = timed(fn)
        runs.append(s)
    return value, runs


def stage_times(path: Path, store: Any, bucket: str, prefix: str, warm: inputs.Spec) -> dict[str, float]:
    """Ingest's stages run here one after the other, each timed (seconds)."""
    from pitwall.common import signalstore
    from pitwall.common.events import FileUploaded
    from pitwall.common.mcapread import read_recording
    from pitwall.ingest.digest import Digest
    from pitwall.ingest.documents import run_document

    read_recording(inputs.ensure(warm).path)  # kernels loaded: not part of a stage
    rec, t_decode = timed(lambda: read_recording(path))
    digest, t_stats = timed(lambda: Digest.of(rec))
    _m, t_store = timed(
        lambda: signalstore.write_recording(rec, lambda k, d: store.put_bytes(bucket, k, d), prefix)
    )
    event = FileUploaded(sha256="0" * 64, object_key="x", size=path.stat().st_size, filename=path.name, source="cli")
    _doc, t_doc = timed(lambda: run_document(digest, event))
    return {"decode": t_decode, "stats": t_stats, "signal_store_write": t_store, "run_document": t_doc}


def ensure_ingested(ctx: Context) -> tuple[Any, Any]:
    """(stack, Ingested) for the big synth run; ingests it on first use."""
    stack = ctx.get_stack()
    if "ingested" not in ctx.shared:
        big = inputs.ensure(ctx.config.big)
        say(f"ingesting the {big.spec.label} through the ingest service")
        ctx.shared["ingested"] = stack.ingest(big.path)
        if ctx.shared["ingested"].status not in ("ready", "recovered"):
            raise RuntimeError(f"ingest did not accept the bench file: {ctx.shared['ingested']}")
    return stack, ctx.shared["ingested"]


def run(ctx: Context, section: Section) -> None:
    from pitwall.common import signalstore
    from pitwall.common.mcapread import read_recording
    from pitwall.common.selection import Selection
    from pitwall.common.storage import S3RangeSource

    big = inputs.ensure(ctx.config.big)
    n, size = big.message_count, big.size
    stack, done = ensure_ingested(ctx)
    e2e = done.ready_seconds
    section.data["end_to_end"] = {
        "run_id": done.run_id, "status": done.status, "messages": done.message_count,
        "upload_seconds": done.upload_seconds, "ready_seconds": e2e, "service_seconds": done.service_seconds,
    }

    # -- the same stages in-process, one by one --------------------------------------------
    store = stack.store()
    bucket = stack.settings.bucket_signals
    say("ingest's stages in-process")
    stages = stage_times(big.path, store, bucket, f"bench-stages/{done.run_id}", ctx.config.tiny)
    t_decode, t_stats, t_store, t_doc = (stages[k] for k in ("decode", "stats", "signal_store_write", "run_document"))

    full = ctx.shared.get("pitwall_full_s")
    plain = ctx.shared.get("plain_onepass_s")
    if full is None:
        from bench.convert import pitwall_convert

        out = ctx.out / "convert" / "ingest-side.mat"
        out.parent.mkdir(parents=True, exist_ok=True)
        pitwall_convert(big.path, out)  # warm
        full = median([pitwall_convert(big.path, out).seconds for _ in range(ctx.config.repeats)])

    table = section.table(
        f"ingest: {big.spec.label}, {n:,} messages, {mb(size)}",
        ["route", "seconds", "messages/s", "MB/s", "vs plain one-pass"],
    )

    def row(label: str, s: float, vs_plain: bool = True) -> None:
        table.add(label, secs(s), rate(n / s), f"{size / 1e6 / s:.0f}", ratio(plain / s) if plain and vs_plain else "-")

    row("ingest service end to end: `file.uploaded` published → run document written", e2e)
    if done.service_seconds:
        row("… of which the ingest handler itself (its own log)", done.service_seconds)
    row("stage in-process: decode the MCAP (`mcapread.read_recording`)", t_decode, False)
    row("stage in-process: signal statistics, channels, track columns (`Digest.of`)", t_stats, False)
    row("stage in-process: signal store write (Parquet → S3)", t_store, False)
    row("stage in-process: run document (track, laps, channels)", t_doc, False)
    row("beside it: `pitwall convert` full conversion to MAT v5 (median)", full)
    table.notes += [
        f"upload before the announcement (`put_mcap_file`: hash + multipart PUT to S3, not in the "
        f"ingest time): {secs(done.upload_seconds)} s",
        f"end to end includes the service downloading {mb(size)} from S3, its SHA-256 check, "
        "the MongoDB writes (run, signal statistics, outbox) and the 20 ms polling of this bench",
        f"servers: {stack.backend}; " + "; ".join(stack.notes),
    ]
    if plain is None:
        table.notes.append("vs plain one-pass: run the convert section in the same invocation to fill it")

    # -- 5 signals: the signal store against the MCAP ----------------------------------------
    from pitwall.query_api.series import RangeFile

    sel = Selection(signals=FIVE_SIGNALS)
    sid = done.run_id

    def from_store_ranged() -> Any:
        return signalstore.read_recording(
            lambda k: store.get_bytes(bucket, k), sid, sel,
            open_file=lambda key: RangeFile(S3RangeSource(store, bucket, key)),
        )

    def from_store_whole() -> Any:
        return signalstore.read_recording(lambda k: store.get_bytes(bucket, k), sid, sel)

    def from_mcap_s3() -> Any:
        key = f"mcap/{sid}.mcap"
        return read_recording(S3RangeSource(store, stack.settings.bucket_mcap, key), sel)

    def from_mcap_disk() -> Any:
        return read_recording(big.path, sel)

    say("5 signals: signal store against the MCAP")
    reps = 5
    results = {}
    for name, fn in (
        ("store_ranged", from_store_ranged), ("store_whole", from_store_whole),
        ("mcap_s3", from_mcap_s3), ("mcap_disk", from_mcap_disk),
    ):
        rec5, runs = best_of(reps, fn)
        results[name] = (median(runs), runs, rec5)
    counts = {name: sum(len(t.log_time_ns) for t in r[2].topics.values()) for name, r in results.items()}
    sigs = {name: sum(len(t.signals) for t in r[2].topics.values()) for name, r in results.items()}
    base = results["mcap_s3"][0]
    five = section.table(
        f"5 signals of the {big.spec.label}: signal store vs decoding the MCAP (in-process, median of {reps})",
        ["route", "seconds", "rows", "faster than decoding from S3"],
    )
    labels = {
        "store_ranged": "signal store, ranged reads of the Parquet columns (as the API reads)",
        "store_whole": "signal store, whole topic objects",
        "mcap_s3": "decode the MCAP from S3 (`read_recording`, indexed ranged reads)",
        "mcap_disk": "decode the MCAP from local disk (`read_recording`)",
    }
    for name, (s, _runs, _rec) in results.items():
        five.add(labels[name], secs(s), f"{counts[name]:,}", ratio(base / s))
    five.notes.append(f"signals: {', '.join(FIVE_SIGNALS)} ({sigs['store_ranged']} found in the store, "
                      f"{sigs['mcap_disk']} in the MCAP)")
    if len(set(counts.values())) != 1 or len(set(sigs.values())) != 1:
        five.notes.append("**the routes returned different rows: see the counts**")

    # -- memory: one pass against passes within a budget --------------------------------------
    huge = inputs.ensure(ctx.config.huge)
    say(f"ingest's decode + digest + signal store of the {huge.spec.label} within memory budgets")
    budgets = [None, 512, 256, 128]
    mem = section.table(
        f"ingest memory: decode, statistics and signal store of the {huge.spec.label} "
        f"({huge.message_count:,} messages, {mb(huge.size)}) within "
        "`PITWALL_INGEST_MEMORY_MB` (whole process, signal store written to a discarding sink)",
        ["budget", "passes", "seconds", "peak RSS"],
    )
    mem_data = []
    for budget in budgets:
        res = run_process(
            [sys.executable, "-c", _DIGEST_SCRIPT, str(huge.path), str(budget or 1 << 20)], cwd=REPO
        ).check()
        passes = int(res.stdout.strip().splitlines()[-1])
        mem.add("none (one pass)" if budget is None else f"{budget} MB", str(passes), secs(res.seconds),
                mb(res.peak_rss))
        mem_data.append({"budget_mb": budget, "passes": passes, "seconds": res.seconds, "peak_rss": res.peak_rss})
    mem.notes.append(
        "a pass decompresses the whole file again when every chunk holds every topic: fewer "
        "bytes held, more seconds; the default budget is 512 MB"
    )

    section.data.update(
        memory_budgets=mem_data,
        input={"bytes": size, "messages": n},
        stages=stages,
        convert_full_seconds=full,
        five_signals={name: {"seconds": s, "runs": runs, "rows": counts[name]}
                      for name, (s, runs, _r) in results.items()},
        throughput={"messages_per_s": n / e2e, "mb_per_s": size / 1e6 / e2e},
    )
