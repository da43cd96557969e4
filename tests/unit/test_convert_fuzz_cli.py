"""Damaged files through `pitwall convert` as a user runs it: a subprocess with a memory cap.

No signal, no hang, no traceback: either an output file or a one-line reason.
"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from test_mcapread_damage import BASES, _mutate

from pitwall.synth import write_synth

MEMORY_CAP = 1024**3  # address space: a 1 GiB laptop-sized budget, thread stacks and arenas included
CASES = 52
TIMEOUT_S = 60


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _run(args: tuple[int, bytes, Path]) -> tuple[int, int, str, str]:
    i, data, folder = args
    src = folder / f"case{i}.mcap"
    src.write_bytes(data)
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("pitwall")), "convert", str(src), "-o", str(folder / f"case{i}.mat")],
        capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_cap, stdin=subprocess.DEVNULL,
    )
    return i, proc.returncode, proc.stdout, proc.stderr


def test_damaged_files_through_the_cli(tmp_path: Path) -> None:
    rng = random.Random(8675309)
    synth_chunked = tmp_path / "synth.mcap"
    synth_unchunked = tmp_path / "synth-unchunked.mcap"
    write_synth(synth_chunked, minutes=0.05, seed=77, compression="lz4")
    write_synth(synth_unchunked, minutes=0.05, seed=78, chunked=False)
    bases = [*BASES.values(), synth_chunked.read_bytes(), synth_unchunked.read_bytes()]
    cases = [(i, _mutate(bases[i % len(bases)], rng)[1], tmp_path) for i in range(CASES)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_run, cases))
    converted = 0
    for i, code, out, err in results:
        assert code in (0, 1), f"case {i}: exit {code} (a signal or a crash)\n{err[-2000:]}"
        assert "Traceback" not in err + out, f"case {i}:\n{err[-2000:]}"
        if code == 0:
            converted += 1
            assert (tmp_path / f"case{i}.mat").stat().st_size > 0
        else:
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert len(lines) == 1, f"case {i}: not a one-line reason:\n{err}"
    assert converted > CASES // 2  # most damaged files still give their readable messages
