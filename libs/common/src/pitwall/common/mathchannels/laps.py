"""laptime() and lapdist(): time and distance since the start of the lap each sample is in.

A sample at time t is in the last lap (by start) with start_s <= t, if t <= that lap's end_s;
otherwise (before the first lap, between laps, after the last) it is in none, and both
functions give NaN there. Where one lap ends as the next starts, the next lap wins.
`lapdist()` needs the run's cumulative distance in metres on the same clock (from GPS or
wheel speed, as the caller has it): D(t) - D(lap start), D linear between its samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pitwall.common.mathchannels.align import Series, values_at


@dataclass(frozen=True, slots=True)
class Lap:
    start_s: float
    end_s: float


LapLike = Lap | Mapping[str, Any]


def lap_bounds(laps: Sequence[LapLike]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times, sorted by start (a run's `laps` documents work as they are)."""
    pairs = sorted(
        (float(lap.start_s), float(lap.end_s)) if isinstance(lap, Lap) else (float(lap["start_s"]), float(lap["end_s"]))
        for lap in laps
    )
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def _lap_start(t: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The start of the lap each time is in, NaN where it is in none."""
    idx = np.searchsorted(starts, t, side="right") - 1
    safe = np.clip(idx, 0, max(starts.size - 1, 0))
    inside = (idx >= 0) & (t <= ends[safe]) if starts.size else np.zeros(t.shape, dtype=bool)
    return np.where(inside, starts[safe] if starts.size else np.nan, np.nan)


def laptime(t: np.ndarray, laps: Sequence[LapLike]) -> np.ndarray:
    starts, ends = lap_bounds(laps)
    return t - _lap_start(t, starts, ends)


def lapdist(t: np.ndarray, laps: Sequence[LapLike], distance: Series) -> np.ndarray:
    starts, ends = lap_bounds(laps)
    start = _lap_start(t, starts, ends)
    d = values_at(distance, t)
    at_start = np.full(t.shape, np.nan)
    known = np.isfinite(start)
    at_start[known] = values_at(distance, start[known])
    return d - at_start
