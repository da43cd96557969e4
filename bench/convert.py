"""Section 2 (issue 8): MCAP -> MAT v5, pitwall beside the plain routes, whole processes.

Every route runs as its own process on the same cached 10-minute synth run (chunked
zstd, all signals) and is timed from spawn to exit, with its peak RSS from the kernel:
  a. plain one-pass (bench/baselines.py onepass, GC off),
  b. the team's per-topic route (bench/baselines.py pertopic): a sample of passes,
     extrapolated linearly to every topic,
  c. `pitwall convert` (median of a few runs).
Then pitwall alone: peak memory against the size of what it writes, a 5-signal and a
10-second selection from the indexed file, a 1-second file warm, and a cold first run:
no bytecode cache at all (PYTHONPYCACHEPREFIX at an empty directory, so every module
compiles from source). The decode kernels are compiled ahead of time (Cython, at
install), so there is no JIT cache to warm.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import inputs
from bench.context import FIVE_SIGNALS, REPO, VENV_BIN, Context
from bench.measure import ProcResult, env_with, median, run_process
from bench.report import Section, mb, rate, ratio, say, secs

BASELINES = Path(__file__).resolve().parent / "baselines.py"
FLOOR = Path(__file__).resolve().parent / "floor.py"
_SUMMARY = re.compile(r"([\d,]+) messages, ([\d,]+) signals")


def pitwall_convert(src: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> ProcResult:
    argv = [str(VENV_BIN / "pitwall"), "convert", str(src), "-o", str(out), *extra]
    return run_process(argv, env=env, cwd=REPO).check()


def baseline(route: str, src: Path, out: Path, *extra: str) -> tuple[ProcResult, dict[str, Any]]:
    res = run_process([sys.executable, str(BASELINES), route, str(src), str(out), *extra], cwd=REPO).check()
    return res, json.loads(res.stdout.strip().splitlines()[-1])


def floor(*args: str) -> ProcResult:
    return run_process([sys.executable, str(FLOOR), *args], cwd=REPO).check()


def repeat(times: int, src: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> list[ProcResult]:
    return [pitwall_convert(src, out, *extra, env=env) for _ in range(times)]


def converted(res: ProcResult) -> tuple[int, int]:
    """(messages, signals) from `pitwall convert`'s summary line."""
    m = _SUMMARY.search(res.stdout)
    if m is None:
        raise RuntimeError(f"unexpected output of pitwall convert: {res.stdout!r}")
    return int(m[1].replace(",", "")), int(m[2].replace(",", ""))


def sample_topics(counts: dict[str, int], k: int) -> list[str]:
    """k topics spread over the range of message counts (quietest, ..., busiest)."""
    ordered = sorted(counts, key=lambda t: (counts[t], t))
    if k >= len(ordered):
        return ordered
    picks = [round(i * (len(ordered) - 1) / (k - 1)) for i in range(k)] if k > 1 else [len(ordered) // 2]
    return [ordered[i] for i in dict.fromkeys(picks)]


def mat_array_bytes(path: Path) -> int:
    """Bytes of the arrays a MAT file holds: numeric data as stored, text as UTF-16."""
    import numpy as np
    from scipy.io import loadmat

    def size(v: Any) -> int:
        if isinstance(v, dict):
            return sum(size(x) for x in v.values())
        if isinstance(v, str):
            return 2 * len(v)
        if isinstance(v, list):
            return sum(size(x) for x in v)
        if isinstance(v, np.ndarray):
            if v.dtype == object:
                return sum(size(x) for x in v.flat)
            if v.dtype.kind == "U":
                return 2 * sum(len(x) for x in v.flat)
            return int(v.nbytes)
        return int(np.asarray(v).nbytes)

    data = loadmat(path, simplify_cells=True)
    return sum(size(v) for k, v in data.items() if not k.startswith("__"))


def run(ctx: Context, section: Section) -> None:
    cfg = ctx.config
    big = inputs.ensure(cfg.big)
    work = ctx.out / "convert"
    work.mkdir(parents=True, exist_ok=True)
    n = big.message_count
    n_topics = len(big.message_counts)

    # Warm: the input into the page cache.
    pitwall_convert(big.path, work / "warm.mat")

    say("plain one-pass route (about a minute)")
    plain_res, plain = baseline("onepass", big.path, work / "plain.mat")
    sample = sample_topics(big.message_counts, cfg.topic_passes)
    say(f"per-topic route, {len(sample)} passes")
    topic_res, per = baseline("pertopic", big.path, work / "pertopic.mat", "--topics", ",".join(sample))
    say("pitwall convert")
    full = repeat(cfg.repeats, big.path, work / "pitwall.mat")
    pw_msgs, pw_signals = converted(full[0])

    t_plain = plain_res.seconds
    pass_s = [p["seconds"] for p in per["passes"]]
    fixed = topic_res.seconds - sum(pass_s) - per["write_seconds"]
    t_topic = fixed + sum(pass_s) / len(pass_s) * n_topics + plain["write_seconds"]
    t_pw = median([r.seconds for r in full])
    rss_pw = max(r.peak_rss for r in full)

    table = section.table(
        f"convert: {big.spec.label}, {n:,} messages, {n_topics} topics, {mb(big.size)} → MAT v5, all signals",
        ["route", "seconds", "messages/s", "peak RSS", "vs plain one-pass"],
    )
    table.add(
        "plain one-pass: mcap + mcap-protobuf decoder, lists, numpy, scipy savemat (GC off)",
        secs(t_plain), rate(n / t_plain), mb(plain_res.peak_rss), ratio(1.0),
    )
    table.add(
        f"team's per-topic route: one decoded pass per topic (**extrapolated** from {len(pass_s)} of {n_topics} "
        "passes)",
        secs(t_topic), rate(n / t_topic), mb(topic_res.peak_rss) + " (sample)", ratio(t_plain / t_topic),
    )
    table.add(
        f"`pitwall convert` (median of {len(full)})",
        secs(t_pw), rate(n / t_pw), mb(rss_pw), ratio(t_plain / t_pw),
    )
    table.notes += [
        f"per-topic route measured on {len(pass_s)} passes over topics {', '.join(sample)} "
        f"(quietest to busiest; {', '.join(secs(s) for s in pass_s)} s each, whole process "
        f"{secs(topic_res.seconds)} s); extrapolated as start-up + mean pass × {n_topics} topics "
        f"+ the one-pass route's MAT write ({secs(plain['write_seconds'])} s)",
        f"plain one-pass: {secs(plain['passes'][0]['seconds'])} s decoding, "
        f"{secs(plain['write_seconds'])} s in savemat; {plain['messages']:,} messages, "
        f"{plain['signals']} signals (pitwall: {pw_msgs:,} messages, {pw_signals} signals)",
        f"pitwall runs: {', '.join(secs(r.seconds) for r in full)} s",
    ]
    if plain["messages"] != pw_msgs or plain["signals"] != pw_signals:
        table.notes.append("**the routes disagree on what the file holds: see the counts above**")

    # -- memory against the output ------------------------------------------------------
    out_bytes = mat_array_bytes(work / "pitwall.mat")
    mat_size = (work / "pitwall.mat").stat().st_size
    mem_floor = 1.5 * out_bytes + 200e6

    # -- selections from the indexed file ---------------------------------------------------
    five = repeat(cfg.repeats, big.path, work / "five.mat", "--signals", ",".join(FIVE_SIGNALS))
    window = repeat(cfg.repeats, big.path, work / "window.mat", "--start", "100", "--end", "110")
    t_five = median([r.seconds for r in five])
    t_window = median([r.seconds for r in window])
    sel = section.table(
        "convert: a selection from the same indexed file (whole process, median)",
        ["route", "seconds", "peak RSS", "messages kept", "faster than the full conversion"],
    )
    sel.add("full conversion (above)", secs(t_pw), mb(rss_pw), f"{pw_msgs:,}", ratio(1.0))
    sel.add(
        "5 signals (`--signals` with 5 globs)", secs(t_five), mb(max(r.peak_rss for r in five)),
        f"{converted(five[0])[0]:,}", ratio(t_pw / t_five),
    )
    sel.add(
        "10-second window (`--start 100 --end 110`)", secs(t_window),
        mb(max(r.peak_rss for r in window)), f"{converted(window[0])[0]:,}", ratio(t_pw / t_window),
    )
    floor_start = [floor("startup") for _ in range(cfg.repeats)]
    floor_unzip = [floor("decompress", str(big.path)) for _ in range(cfg.repeats)]
    t_start = median([r.seconds for r in floor_start])
    t_unzip = median([r.seconds for r in floor_unzip])
    sel.add(
        "floor: interpreter + `import numpy`, nothing else (bench/floor.py startup)",
        secs(t_start), mb(max(r.peak_rss for r in floor_start)), "0", ratio(t_pw / t_start),
    )
    sel.add(
        "floor: read + zstd-decompress every chunk, 2 threads, nothing kept (bench/floor.py decompress)",
        secs(t_unzip), mb(max(r.peak_rss for r in floor_unzip)), "0", ratio(t_pw / t_unzip),
    )
    sel.notes.append(f"the 5 signals: {', '.join(FIVE_SIGNALS)}")
    sel.notes.append(
        "every chunk of this file holds every topic, so 5 signals must decompress every chunk: "
        f"the decompress floor bounds that row at {ratio(t_pw / t_unzip)}; any process is "
        f"bounded by the start-up floor at {ratio(t_pw / t_start)}"
    )

    # -- a 1-second file: warm, then the first run after install ---------------------------
    say("start-up: a 1-second file, warm and cold")
    tiny = inputs.ensure(cfg.tiny)
    pitwall_convert(tiny.path, work / "tiny.mat")
    tiny_runs = repeat(5, tiny.path, work / "tiny.mat")
    t_tiny = median([r.seconds for r in tiny_runs])
    with tempfile.TemporaryDirectory(prefix="pitwall-bench-pyc-") as empty:
        # Each cold run gets its own empty bytecode cache: every module compiles from source.
        (Path(empty) / "tiny").mkdir()
        (Path(empty) / "big").mkdir()
        cold = pitwall_convert(tiny.path, work / "tiny-cold.mat", env=env_with(PYTHONPYCACHEPREFIX=f"{empty}/tiny"))
        cold_big = pitwall_convert(big.path, work / "big-cold.mat", env=env_with(PYTHONPYCACHEPREFIX=f"{empty}/big"))
    small = section.table(
        "convert: start-up (whole process)",
        ["route", "seconds", "peak RSS", "messages"],
    )
    small.add(f"1-second file, warm cache (median of {len(tiny_runs)})", secs(t_tiny),
              mb(max(r.peak_rss for r in tiny_runs)), f"{tiny.message_count:,}")
    small.add("1-second file, cold: no bytecode cache (every module compiled from source)", secs(cold.seconds),
              mb(cold.peak_rss), f"{tiny.message_count:,}")
    small.add(f"{big.spec.label}, cold: no bytecode cache", secs(cold_big.seconds), mb(cold_big.peak_rss), f"{n:,}")
    small.notes.append(
        "the decode kernels are a Cython extension built by `make install` (uv sync), so no "
        "run compiles them; `make install` also writes every module's bytecode, so the cold "
        "rows are worse than a first run after install: PYTHONPYCACHEPREFIX points at an "
        "empty directory and every import compiles from source"
    )

    section.check("pitwall vs plain one-pass (messages/s)", ratio(t_plain / t_pw), "≥ 10×", t_plain / t_pw >= 10)
    section.check("pitwall vs per-topic route (messages/s, extrapolated)", ratio(t_topic / t_pw), "≥ 100×",
                  t_topic / t_pw >= 100)
    section.check(
        "peak RSS of the full conversion",
        f"{mb(rss_pw)} (output arrays {mb(out_bytes)}, MAT file {mb(mat_size)})",
        f"≤ 1.5 × output + 200 MB = {mb(mem_floor)}", rss_pw <= mem_floor,
    )
    section.check("5 signals vs full conversion", ratio(t_pw / t_five), "≥ 10×", t_pw / t_five >= 10)
    section.check("10-second window vs full conversion", ratio(t_pw / t_window), "≥ 10×", t_pw / t_window >= 10)
    section.check("1-second file, warm caches", f"{secs(t_tiny)} s", "< 1 s", t_tiny < 1.0)

    for mat in work.glob("*.mat"):
        mat.unlink()  # hundreds of MB each; the numbers are what is kept

    ctx.shared["pitwall_full_s"] = t_pw
    ctx.shared["plain_onepass_s"] = t_plain
    section.data.update(
        floors={"startup_seconds": t_start, "decompress_seconds": t_unzip},
        input={"path": str(big.path.relative_to(REPO)), "bytes": big.size, "messages": n, "topics": n_topics},
        plain_onepass={"seconds": t_plain, "peak_rss": plain_res.peak_rss, **plain},
        per_topic={
            "seconds_extrapolated": t_topic, "passes_run": len(pass_s), "sample": sample,
            "process_seconds": topic_res.seconds, "peak_rss_sample": topic_res.peak_rss, **per,
        },
        pitwall={"seconds": t_pw, "runs": [r.seconds for r in full], "peak_rss": rss_pw, "messages": pw_msgs,
                 "signals": pw_signals},
        output={"array_bytes": out_bytes, "mat_bytes": mat_size},
        five_signals={"seconds": t_five, "runs": [r.seconds for r in five], "signals": list(FIVE_SIGNALS)},
        window_10s={"seconds": t_window, "runs": [r.seconds for r in window]},
        tiny={"seconds": t_tiny, "runs": [r.seconds for r in tiny_runs], "messages": tiny.message_count},
        cold={"tiny_seconds": cold.seconds, "big_seconds": cold_big.seconds},
    )
