"""Timing a whole process (wall seconds and peak RSS) and summarising repeated samples."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
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


def run_process(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> ProcResult:
    """Run to completion; wall time from spawn to exit, peak RSS from the kernel.

    `os.wait4` gives this child's own rusage (ru_maxrss), unlike RUSAGE_CHILDREN which
    is the maximum over every child ever waited for. Output goes through files, so a
    chatty child can never block on a full pipe while we wait.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdout=out, stderr=err, env=dict(env) if env is not None else None, cwd=cwd
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        out.seek(0)
        err.seek(0)
        return ProcResult(
            list(argv),
            seconds,
            usage.ru_maxrss * 1024,  # Linux reports kB
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
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
