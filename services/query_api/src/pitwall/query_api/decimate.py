"""Min/max decimation for plots: at most `max_points` per signal, extremes kept.

The samples are cut into equal-count buckets of consecutive samples and each bucket
keeps its smallest and its largest value (in time order), so a spike is never lost
however far the plot is zoomed out: the drawn envelope is the true one. NaN values
are ignored when choosing; a bucket with nothing but NaN keeps one NaN (a gap).
"""

from __future__ import annotations

import numpy as np


def minmax(t: np.ndarray, v: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(t, v, decimated): the input itself when it has at most `max_points` samples."""
    n = int(v.shape[0])
    if n <= max_points:
        return t, v, False
    buckets = max(1, max_points // 2)
    size = -(-n // buckets)
    rows = -(-n // size)
    vf = v.astype(np.float64, copy=False)
    nan = np.isnan(vf)
    lo = np.full(rows * size, np.inf)
    hi = np.full(rows * size, -np.inf)
    lo[:n] = np.where(nan, np.inf, vf)
    hi[:n] = np.where(nan, -np.inf, vf)
    offsets = np.arange(rows) * size
    imin = lo.reshape(rows, size).argmin(axis=1) + offsets
    imax = hi.reshape(rows, size).argmax(axis=1) + offsets
    first = np.minimum(imin, imax)
    second = np.maximum(imin, imax)
    idx = np.column_stack([first, second]).ravel()
    keep = np.ones(idx.shape[0], dtype=bool)
    keep[1::2] = second != first
    idx = idx[keep]
    return t[idx], v[idx], True
