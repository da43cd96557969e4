"""Timing a whole process (wall seconds and peak RSS) and summarising repeated samples."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcResult:
    argv: list[str]
    seconds: float
    peak_rss: int  # bytes, the child's own maximum resident set
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> ProcResult:
        if self.returncode != 0:
            raise RuntimeError(
                f"{' '.join(self.argv)} exited with {self.returncode}: {self.stderr.strip()[-2000:]}"
            )
        return self


# Spawns the command, waits, writes its wall time, peak RSS and exit code as JSON to a
# file. Kept tiny on purpose: see `run_process`.
_LAUNCHER = """
import json, os, sys, time
out = sys.argv[1]
argv = sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_pid, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(out, "w") as f:
    json.dump({"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}, f)
"""


def run_process(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> ProcResult:
    """Run to completion; wall time from spawn to exit, peak RSS from the kernel.

    Through a tiny launcher process: Linux carries a process's peak RSS across fork and
    exec (the pre-exec copy of the parent counts), so a child of this bench process,
    which holds hundreds of MB, would report at least that much. The launcher is small,
    and its `wait4` gives its child's own rusage. Output goes through files, so a chatty
    child can never block on a full pipe.
    """
    import json
    import sys

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        launcher = [sys.executable, "-I", "-c", _LAUNCHER, str(result), *argv]
        subprocess.run(launcher, stdout=out, stderr=err, env=dict(env) if env is not None else None, cwd=cwd,
                       check=False)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        if not result.exists():
            raise RuntimeError(f"could not run {' '.join(argv)}: {stderr.strip()[-2000:]}")
        got = json.loads(result.read_text())
        return ProcResult(
            list(argv), got["seconds"], got["maxrss_kb"] * 1024, got["code"], stdout, stderr,
        )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0-100), as numpy's default."""
    data = sorted(values)
    if not data:
        raise ValueError("no samples")
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def env_with(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}
