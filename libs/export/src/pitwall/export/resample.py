"""Every selected signal on one uniform time grid.

The grid: points `anchor + k / hz` inside [lo, hi], where [lo, hi] is the overlap of the
topics (latest first sample .. earliest last sample), narrowed to the window when one is
given. The anchor is the window start when given (a 100 Hz grid from `--start 10` falls on
10.00, 10.01, ...), else the origin (t = 0.00, 0.01, ...: round times, the same in every
export of the file). Grid points are integer nanoseconds since the origin, so "the sample
at or before this point" is decided exactly, never by float noise. No value is ever
extrapolated: the grid stays inside every topic's data.

- hold (zero-order hold, the default): the latest sample at or before each point (of
  samples sharing a time stamp, the last in file order); every type is kept as is.
- linear: numeric signals (double, single, integers, repeated) are interpolated between
  the neighbouring samples and become double; enum, logical and string signals have no
  meaningful in-between value and are held, keeping their type.

Topics without messages or without selected signals cannot take part: they are dropped
and listed in `meta.skipped`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from pitwall.common.columns import Recording, Signal, Skipped, TopicColumns
from pitwall.common.exportformats import Interp
from pitwall.export.timebase import origin_of

MAX_POINTS = 2**31 - 1  # MATLAB's dimension limit; also keeps a typo'd --resample sane
# What one resampled export may hold in memory. One damaged log time days away from the
# others stretches the grid of a 3 kB file to hundreds of millions of points: refuse it with
# advice instead of allocating until the converter is killed (and redelivered, and killed).
MAX_RESAMPLED_BYTES = 4 * 1024**3
_GRID_BYTES_PER_POINT = 5 * 8  # ks, pts, the mask, log_time and x while the grid is built
_HELD_UNDER_LINEAR = ("enum", "logical", "string")


class ResampleError(ValueError):
    pass


def _bounds(lo: int, hi: int, hz: float, anchor: int) -> tuple[int, int]:
    step = 1e9 / hz
    return math.ceil((lo - anchor) / step) - 1, math.floor((hi - anchor) / step) + 1


def grid_points(lo: int, hi: int, hz: float, anchor: int) -> int:
    """How many points `grid_ns` would make (at most; two are trimmed at the ends)."""
    if hi < lo:
        return 0
    k0, k1 = _bounds(lo, hi, hz, anchor)
    return k1 - k0 + 1


def check_budget(
    points: int, columns: int, hz: float, max_bytes: int = MAX_RESAMPLED_BYTES
) -> None:
    """Refuse a grid whose arrays would not fit the budget, before allocating any of it."""
    need = points * (_GRID_BYTES_PER_POINT + 8 * columns)
    if need > max_bytes:
        raise ResampleError(
            f"resampling at {hz:g} Hz gives {points:,} points × {columns:,} columns "
            f"(about {need / 1e9:.1f} GB), more than the {max_bytes / 1e9:.1f} GB an export may "
            "hold: narrow the window (start/end), lower the rate or select fewer signals"
        )


def grid_ns(lo: int, hi: int, hz: float, anchor: int) -> np.ndarray:
    """int64 nanoseconds (since the origin) of the grid points `anchor + k/hz` in [lo, hi]."""
    if hi < lo:
        return np.zeros(0, dtype=np.int64)
    step = 1e9 / hz
    k0, k1 = _bounds(lo, hi, hz, anchor)
    if k1 - k0 + 1 > MAX_POINTS:
        raise ResampleError(
            f"resampling at {hz:g} Hz gives {k1 - k0 + 1:,} points, more than {MAX_POINTS:,}"
        )
    ks = np.arange(k0, k1 + 1, dtype=np.float64)
    pts = anchor + np.round(ks * step).astype(np.int64)
    return pts[(pts >= lo) & (pts <= hi)]


def _width(sig: Signal) -> int:
    """Output columns of one signal (a repeated field is as wide as its widest row)."""
    return int(sig.values.shape[1]) if sig.values.ndim > 1 else 1


def _sorted(tc: TopicColumns, rel: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Times in increasing order and the permutation that got them there (None: already)."""
    if rel.size < 2 or bool(np.all(rel[1:] >= rel[:-1])):
        return rel, None
    order = np.argsort(rel, kind="stable")
    return rel[order], order


def _resample_signal(
    sig: Signal, idx: np.ndarray, x: np.ndarray | None, xp: np.ndarray, order: np.ndarray | None
) -> Signal:
    values = sig.values if order is None else sig.values[order]
    if x is None or sig.kind in _HELD_UNDER_LINEAR:
        return Signal(sig.path, sig.kind, values[idx], sig.repeated, sig.enum_names)
    v = values.astype(np.float64, copy=False)
    if v.ndim == 1:
        out = np.interp(x, xp, v)
    else:
        out = np.empty((x.shape[0], v.shape[1]), dtype=np.float64)
        for k in range(v.shape[1]):
            out[:, k] = np.interp(x, xp, v[:, k])
    return Signal(sig.path, "double", out, sig.repeated, None)


def resample(
    rec: Recording,
    hz: float,
    interp: Interp = "hold",
    start_s: float | None = None,
    end_s: float | None = None,
    max_bytes: int | None = None,
) -> tuple[Recording, list[str]]:
    """A new Recording whose topics all share one grid; plus notes for the user."""
    if not hz > 0 or not math.isfinite(hz):
        raise ResampleError(f"resample rate must be a positive number of Hz, not {hz}")
    if interp not in ("hold", "linear"):
        raise ResampleError(f"unknown interpolation {interp!r} (hold or linear)")
    origin = origin_of(rec)
    notes: list[str] = []
    skipped: list[Skipped] = []
    taking: dict[str, tuple[TopicColumns, np.ndarray, np.ndarray | None]] = {}
    for topic, tc in rec.topics.items():
        if tc.count == 0 or not tc.signals:
            why = "no messages" if tc.count == 0 else "no selected signals"
            skipped.append(Skipped(topic, f"left out of the resampled grid: {why}"))
            continue
        rel, order = _sorted(tc, tc.log_time_ns.astype(np.int64) - np.int64(origin))
        taking[topic] = (tc, rel, order)

    if taking:
        lo = max(int(rel[0]) for _, rel, _ in taking.values())
        hi = min(int(rel[-1]) for _, rel, _ in taking.values())
    else:
        lo, hi = 0, -1
    anchor = 0  # grid points at whole periods from the origin: t = 0.01, 0.02, ...
    if start_s is not None:
        anchor = round(start_s * 1e9)
        lo = max(lo, anchor)
    if end_s is not None:
        hi = min(hi, round(end_s * 1e9))
    # per topic: its searchsorted index, then each signal's columns
    columns = sum(
        1 + sum(_width(sig) for sig in tc.signals.values()) for tc, _, _ in taking.values()
    )
    check_budget(grid_points(lo, hi, hz, anchor), columns, hz, max_bytes or MAX_RESAMPLED_BYTES)
    grid = grid_ns(lo, hi, hz, anchor)
    if taking and grid.size == 0:
        notes.append("the selected topics do not overlap in time: the resampled grid is empty")
    if interp == "linear" and any(
        s.kind in _HELD_UNDER_LINEAR for tc, _, _ in taking.values() for s in tc.signals.values()
    ):
        notes.append("linear interpolation: enum, logical and string signals are held instead")

    x = grid.astype(np.float64) if interp == "linear" else None
    log_time = grid + np.int64(origin)
    topics: dict[str, TopicColumns] = {}
    for topic, (tc, rel, order) in taking.items():
        # searchsorted on int64: exact; grid >= lo >= rel[0], so every index is >= 0
        idx = np.searchsorted(rel, grid, side="right") - 1
        xp = rel.astype(np.float64)
        signals = {p: _resample_signal(s, idx, x, xp, order) for p, s in tc.signals.items()}
        topics[topic] = TopicColumns(topic, tc.schema_name, tc.encoding, log_time, signals, tc.schema_info)
    out = replace(rec, topics=topics, origin_ns=origin, skipped=[*rec.skipped, *skipped])
    return out, notes
