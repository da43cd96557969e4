"""`make fuzz`: a bounded atheris run of every harness; findings become regression files.

Each harness (`fuzz_reader.py`, `fuzz_wire.py`, `fuzz_services.py`) runs for
FUZZ_SECONDS (120 by default) on a corpus kept in `.pitwall/fuzz/<harness>/` (so the
next run goes on from where this one stopped), seeded afresh with small valid inputs
(`seeds.py`) and with the saved regression files. libFuzzer stops at its first finding;
the run then saves it and starts again for the time left. Every crash, timeout or
out-of-memory input is copied to `tests/unit/fuzz_regressions/<sha256[:16]>-<harness>.bin`,
which `tests/unit/test_fuzz_regressions.py` replays through the same contract in the
normal tests. Exits 1 when a harness found something new.

    .venv/bin/python tests/fuzz/run.py [--seconds 120] [--only reader,wire]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REGRESSIONS = ROOT / "tests" / "unit" / "fuzz_regressions"
sys.path.insert(0, str(HERE))

import seeds  # noqa: E402

TIMEOUT_S = 10  # per input: anything slower on these small inputs is a hang
RSS_LIMIT_MB = 2048
MAX_RESTARTS = 8


@dataclass
class Outcome:
    harness: str
    seconds: float = 0.0
    execs: int = 0
    coverage: int = 0
    corpus: int = 0
    peak_rss_mb: int = 0
    findings: list[str] = field(default_factory=list)  # regression files written
    failed: bool = False  # the fuzzer stopped without a finding (killed, bad argument)

    @property
    def per_second(self) -> float:
        return self.execs / self.seconds if self.seconds else 0.0


def _stat(text: str, name: str) -> int:
    found = re.findall(rf"stat::{name}:\s+(\d+)", text)
    return int(found[-1]) if found else 0


def _save(artifact: Path, harness: str) -> Path:
    data = artifact.read_bytes()
    REGRESSIONS.mkdir(parents=True, exist_ok=True)
    dest = REGRESSIONS / f"{hashlib.sha256(data).hexdigest()[:16]}-{harness}.bin"
    dest.write_bytes(data)
    return dest


def run_harness(harness: str, seconds: int, corpus_root: Path) -> Outcome:
    out = Outcome(harness)
    corpus = corpus_root / harness
    corpus.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{harness}-") as tmp:
        seed_dir = Path(tmp) / "seeds"
        seeds.write_seeds(harness, seed_dir)
        for old in REGRESSIONS.glob(f"*-{harness}.bin"):
            (seed_dir / old.name).write_bytes(old.read_bytes())
        started = time.monotonic()
        for _ in range(MAX_RESTARTS + 1):
            left = int(seconds - (time.monotonic() - started))
            if left < 5:
                break
            art = Path(tmp) / "art"
            art.mkdir(exist_ok=True)
            cmd = [
                sys.executable, str(HERE / f"fuzz_{harness}.py"), str(corpus), str(seed_dir),
                f"-max_total_time={left}", f"-timeout={TIMEOUT_S}",
                f"-rss_limit_mb={RSS_LIMIT_MB}", f"-max_len={seeds.MAX_LEN[harness]}",
                "-print_final_stats=1", f"-artifact_prefix={art}/",
            ]  # fmt: skip
            t0 = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            out.seconds += time.monotonic() - t0
            log = proc.stderr + proc.stdout
            out.execs += _stat(log, "number_of_executed_units")
            out.peak_rss_mb = max(out.peak_rss_mb, _stat(log, "peak_rss_mb"))
            cov = re.findall(r"cov: (\d+)", log)
            out.coverage = max(out.coverage, int(cov[-1]) if cov else 0)
            found = sorted(art.iterdir())
            for artifact in found:
                dest = _save(artifact, harness)
                out.findings.append(dest.name)
                artifact.unlink()
                print(f"--- {harness}: finding saved as {dest.relative_to(ROOT)}", file=sys.stderr)
                print(_excerpt(log), file=sys.stderr)
            if not found:
                if proc.returncode != 0:  # e.g. killed: say so, keep what it found
                    print(f"--- {harness}: libFuzzer exited {proc.returncode} without an "
                          f"input to save\n{_excerpt(log)}", file=sys.stderr)  # fmt: skip
                    out.failed = True
                break
        out.corpus = len(list(corpus.iterdir()))
    return out


def _excerpt(log: str) -> str:
    """The lines that say what went wrong (the Python traceback or libFuzzer's error)."""
    lines = log.splitlines()
    start = next(
        (i for i, ln in enumerate(lines) if "Uncaught Python exception" in ln or "ERROR:" in ln),
        max(0, len(lines) - 30),
    )
    return "\n".join(lines[start : start + 40])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "120")))
    parser.add_argument("--only", default="", help="comma-separated harnesses (default: all)")
    parser.add_argument("--corpus", type=Path, default=ROOT / ".pitwall" / "fuzz")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or ["reader", "wire", "services"]
    results = []
    for name in names:
        print(f"fuzzing {name} for {args.seconds} s ...", flush=True)
        results.append(run_harness(name, args.seconds, args.corpus))
    print()
    print(f"{'harness':<10} {'seconds':>8} {'execs':>9} {'execs/s':>8} {'cov':>6} "
          f"{'corpus':>7} {'rss MB':>7}  findings")  # fmt: skip
    for r in results:
        print(f"{r.harness:<10} {r.seconds:>8.0f} {r.execs:>9} {r.per_second:>8.0f} "
              f"{r.coverage:>6} {r.corpus:>7} {r.peak_rss_mb:>7}  "
              f"{', '.join(r.findings) or 'none'}")  # fmt: skip
    if any(r.failed for r in results):
        raise SystemExit("a fuzzer stopped early without a finding: see its output above")
    if any(r.findings for r in results):
        print("\nnew findings were saved under tests/unit/fuzz_regressions/: fix the core, "
              "then `pytest tests/unit/test_fuzz_regressions.py` replays them")  # fmt: skip
        raise SystemExit(1)


if __name__ == "__main__":
    main()
