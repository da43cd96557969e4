"""A simulated car for `make up`: its logger writes `pitwall synth` recordings into a folder.

Each recording grows over `record_s` seconds (the logger is writing: the station must
leave it alone), then is closed; every third one stops without its footer (the car was
switched off: a recovered run). Bounded by `count`, so a forgotten stack does not fill
the disk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from pitwall.synth import write_synth


def _record(src: Path, dest: Path, record_s: float, stop: threading.Event) -> None:
    data = src.read_bytes()
    steps = max(1, int(record_s / 0.5))
    step = -(-len(data) // steps)
    with open(dest, "wb") as out:
        for i in range(0, len(data), step):
            if stop.is_set():
                break
            out.write(data[i : i + step])
            out.flush()
            os.fsync(out.fileno())
            stop.wait(record_s / steps)


def simulate_car(
    logs_dir: Path, *, count: int = 6, minutes: float = 0.5, record_s: float = 20.0, pause_s: float = 40.0,
    stop: threading.Event | None = None, say: object = print,
) -> int:
    stop = stop or threading.Event()
    logs_dir.mkdir(parents=True, exist_ok=True)
    made = 0
    with tempfile.TemporaryDirectory(prefix="pitwall-car-") as work:
        for n in range(count):
            if stop.is_set():
                break
            cut = n % 3 == 2
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            name = f"car-{stamp}{'-cut' if cut else ''}.mcap"
            tmp = Path(work) / name
            write_synth(tmp, minutes=minutes, seed=int(time.time()) % 100000, truncate=cut)
            say(f"car: recording {name} ({tmp.stat().st_size / 1e6:.1f} MB over {record_s:.0f} s)")  # type: ignore[operator]
            _record(tmp, logs_dir / name, record_s, stop)
            made += 1
            say(f"car: logger closed {name}" + (" without its footer (switched off)" if cut else ""))  # type: ignore[operator]
            stop.wait(pause_s)
    return made


def clear_car(logs_dir: Path) -> None:
    shutil.rmtree(logs_dir, ignore_errors=True)
