"""The functions that look along time: deriv, integ, smooth. Plain numpy, no Python loops.

`t` is the channel's time base in seconds (non-decreasing), `x` float64 values at those times.
"""

from __future__ import annotations

import numpy as np


def deriv(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """d/dt per second: `numpy.gradient(x, t)` (NaN where there are fewer than 2 samples)."""
    if t.size < 2:
        return np.full(t.shape, np.nan)
    out: np.ndarray = np.gradient(x, t)
    return out


def integ(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`scipy.integrate.cumulative_trapezoid(x, t, initial=0)`, written out in the same
    operations and order (the same bits): from 0 at the window's first sample."""
    if t.size == 0:
        return np.zeros(0)
    steps = np.diff(t) * (x[1:] + x[:-1]) / 2.0
    return np.concatenate([[0.0], np.cumsum(steps)])


def _cumulative(a: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(a)])


def smooth(t: np.ndarray, x: np.ndarray, seconds: float) -> np.ndarray:
    """The centred moving average: at each t_i, the mean of the x_j with
    t_i - seconds/2 <= t_j <= t_i + seconds/2 (in float64), NaN samples left out; NaN when the
    window holds none. An infinite sample makes the mean infinite (NaN if both signs), as IEEE
    addition does. Cumulative sums and two binary searches: O(n log n)."""
    if t.size == 0:
        return np.zeros(0)
    half = seconds / 2.0
    lo = np.searchsorted(t, t - half, side="left")
    hi = np.searchsorted(t, t + half, side="right")
    pos_inf, neg_inf = x == np.inf, x == -np.inf
    finite = np.isfinite(x)
    # Centred on the mean, so the running sum stays small and differences of it stay exact.
    centre = float(x[finite].mean()) if finite.any() else 0.0
    sums = _cumulative(np.where(finite, x - centre, 0.0))
    counts = _cumulative(finite.astype(np.int64))
    count = counts[hi] - counts[lo]
    n_pos = _cumulative(pos_inf.astype(np.int64))
    n_neg = _cumulative(neg_inf.astype(np.int64))
    has_pos, has_neg = (n_pos[hi] - n_pos[lo]) > 0, (n_neg[hi] - n_neg[lo]) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (sums[hi] - sums[lo]) / count + centre
    out[count == 0] = np.nan
    out[has_pos] = np.inf
    out[has_neg] = -np.inf
    out[has_pos & has_neg] = np.nan
    return out
