"""Distances and lines on the ground from GPS fixes: what lap detection (ingest's track view)
and lap comparison (`lapcompare`) both measure with.

A spherical Earth (haversine): over a race track its error against the ellipsoid is a few
tenths of a per cent, the same for every lap, and far below what a GPS receiver adds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# The mean Earth radius (IUGG), the sphere the haversine distances are on.
EARTH_RADIUS_M = 6_371_000.0

Array = npt.NDArray[np.float64]


def valid_fixes(lat: Array, lon: Array) -> npt.NDArray[np.bool_]:
    """Which samples are real fixes: a logger reports 0,0 or NaN before the receiver locks."""
    ok: npt.NDArray[np.bool_] = (
        np.isfinite(lat) & np.isfinite(lon) & ~((lat == 0) & (lon == 0)) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    )
    return ok


def haversine(lat1: Array, lon1: Array, lat2: Array, lon2: Array) -> Array:
    """Great-circle distance in metres between points given in degrees (element-wise)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    out: Array = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


def steps(lat: Array, lon: Array) -> Array:
    """The distance from each fix to the next (one fewer than the fixes)."""
    return haversine(lat[:-1], lon[:-1], lat[1:], lon[1:])


def path_distance(lat: Array, lon: Array) -> Array:
    """Metres driven at each fix since the first (0 there, non-decreasing)."""
    out: Array = np.concatenate([[0.0], np.cumsum(steps(lat, lon))])
    return out


def local_xy(lat: Array, lon: Array, lat0: float, lon0: float) -> tuple[Array, Array]:
    """Metres east and north of (lat0, lon0): flat over a track's extent."""
    y: Array = np.radians(lat - lat0) * EARTH_RADIUS_M
    x: Array = np.radians(lon - lon0) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    return x, y


def line_crossing(t: Array, along: Array, k: int, search: int = 4) -> float:
    """When the path crossed a line near sample k, interpolated between the two samples
    around the crossing (within `search` samples of k); t[k] when none is found.

    `along` is each sample's signed distance past the line; at 200 Hz and 18 m/s a
    sample is 9 cm, so the closest sample alone would put a lap boundary up to 2.5 ms
    off, more than lap comparison tolerates."""
    lo, hi = max(0, k - search), min(len(t) - 1, k + search)
    for j in range(lo, hi):
        a, b = along[j], along[j + 1]
        if a < 0.0 <= b and b > a:
            return float(t[j] + (t[j + 1] - t[j]) * (-a / (b - a)))
    return float(t[k])
