"""Benchmark of the MAT writers against `scipy.io.savemat` on a realistic Recording.

    .venv/bin/python bench/mat_writers.py [--topics 100] [--rows 2000000] [--check]

The Recording: `--topics` topics sharing `--rows` rows, ~10 signals each (double, single,
int32, uint32, logical, enum), a repeated 16-wide field in every tenth topic, and string
signals in every fifth topic (a state with a handful of values; one log topic where every
string is distinct). Everything goes through the same struct layout; only the writer
differs. `--check` loads both v5 files with scipy and compares every array.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from pitwall.common.columns import Recording, Signal, TopicColumns
from pitwall.export.layout import struct_layout
from pitwall.export.matvalue import Cell, MatValue, StrCell

_STATES = ["IDLE", "PRECHARGE", "READY_TO_DRIVE", "DRIVING", "FAULT: overtemp"]


def realistic_recording(
    n_topics: int = 100, total_rows: int = 2_000_000, seed: int = 1
) -> Recording:
    rng = np.random.default_rng(seed)
    origin = 1_714_567_890_000_000_000
    weights = rng.uniform(0.2, 1.0, n_topics)
    rows = np.maximum(1, (weights / weights.sum() * total_rows).astype(int))
    topics: dict[str, TopicColumns] = {}
    for i, n in enumerate(rows):
        t = origin + np.sort(rng.integers(0, 600 * 10**9, n)).astype(np.int64)
        sigs = {
            "a.x": Signal("a.x", "double", rng.normal(size=n)),
            "a.y": Signal("a.y", "double", rng.normal(size=n)),
            "a.z": Signal("a.z", "double", rng.normal(size=n)),
            "temp": Signal("temp", "single", rng.normal(40, 5, n).astype(np.float32)),
            "count": Signal("count", "uint32", np.arange(n, dtype=np.uint32)),
            "raw": Signal("raw", "int32", rng.integers(-1000, 1000, n).astype(np.int32)),
            "ok": Signal("ok", "logical", rng.integers(0, 2, n).astype(bool)),
            "mode": Signal("mode", "enum", rng.integers(0, 4, n).astype(np.int32)),
            "speed": Signal("speed", "double", rng.normal(20, 3, n)),
        }
        if i % 10 == 0:
            sigs["cells.v"] = Signal(
                "cells.v", "double", rng.normal(3.7, 0.05, (n, 16)), repeated=True
            )
        if i % 5 == 0:
            states = np.empty(n, dtype=object)
            states[:] = [_STATES[k] for k in rng.integers(0, len(_STATES), n)]
            sigs["state"] = Signal("state", "string", states)
        if i == 1:
            log = np.empty(n, dtype=object)
            log[:] = [f"log line {k}: value {v:.3f}" for k, v in enumerate(rng.normal(size=n))]
            sigs["log"] = Signal("log", "string", log)
        name = f"Topic{i:03d}_data"
        topics[name] = TopicColumns(name, name, "protobuf", t, sigs)
    return Recording(topics, origin_ns=origin, message_count=int(rows.sum()))


def _for_scipy(value: MatValue) -> Any:
    """The same tree in the shapes savemat wants (it writes 1-D as rows unless told)."""
    if isinstance(value, dict):
        return {k: _for_scipy(v) for k, v in value.items()}
    if isinstance(value, StrCell):
        v = value.values
        return v.reshape(-1, 1) if v.ndim == 1 else v
    if isinstance(value, Cell):
        arr = np.empty(len(value.items), dtype=object)
        arr[:] = [_for_scipy(v) for v in value.items]
        return arr.reshape(value.shape, order="F")
    if value is None:
        return np.zeros((0, 0))
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.reshape(-1, 1)
    return value


def _timed(fn: Any, *, gc_off: bool = False) -> float:
    gc.collect()
    if gc_off:
        gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def _same(x: Any, y: Any, where: str) -> None:
    """Recursive equality of two loadmat trees, bit for bit."""
    assert type(x) is type(y) and getattr(x, "shape", None) == getattr(y, "shape", None), where
    if isinstance(x, np.ndarray) and x.dtype.names:
        assert x.dtype.names == y.dtype.names, where
        for f in x.dtype.names:
            for idx in np.ndindex(x.shape):
                _same(x[f][idx], y[f][idx], f"{where}.{f}")
    elif isinstance(x, np.ndarray) and x.dtype == object:
        for idx in np.ndindex(x.shape):
            _same(x[idx], y[idx], f"{where}{{{idx}}}")
    else:
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--topics", type=int, default=100)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    import scipy.io as sio

    from pitwall.export.mat5 import write_mat5
    from pitwall.export.mat73 import write_mat73

    rec = realistic_recording(args.topics, args.rows)
    variables = struct_layout(rec).variables
    strings = sum(
        tc.count for tc in rec.topics.values() for s in tc.signals.values() if s.kind == "string"
    )
    print(f"{len(rec.topics)} topics, {rec.message_count:,} rows, {strings:,} string cells")
    with tempfile.TemporaryDirectory() as tmp:
        mine, theirs, v73 = Path(tmp, "mine.mat"), Path(tmp, "scipy.mat"), Path(tmp, "v73.mat")
        scipy_vars = {k: _for_scipy(v) for k, v in variables.items()}
        results = {
            "pitwall mat5": (_timed(lambda: write_mat5(mine, variables)), mine),
            "scipy.io.savemat": (
                _timed(lambda: sio.savemat(theirs, scipy_vars, oned_as="column")),
                theirs,
            ),
            "scipy.io.savemat, GC off": (
                _timed(lambda: sio.savemat(theirs, scipy_vars, oned_as="column"), gc_off=True),
                theirs,
            ),
            "pitwall mat73": (_timed(lambda: write_mat73(v73, variables)), v73),
        }
        for label, (secs, path) in results.items():
            size = os.path.getsize(path) / 1e6
            print(f"{label:<26} {secs:7.3f} s  {size:8.1f} MB  {size / secs:8.0f} MB/s")
        if args.check:
            a = sio.loadmat(mine, squeeze_me=False, struct_as_record=True)
            b = sio.loadmat(theirs, squeeze_me=False, struct_as_record=True)
            for name in variables:
                _same(a[name], b[name], name)
            print("check: every array of both files is identical")


if __name__ == "__main__":
    main()
