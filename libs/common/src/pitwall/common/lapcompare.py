"""Lap comparison: laps aligned by distance (or lap time), the delta-time trace, where
time is lost. Plain numpy on columns, the way MoTeC i2 overlays laps.

Each lap's distance is normalised to the reference lap's length (the driven line and the
sensors make two laps of one track differ by a per cent or so), so distance x on every lap
means the same place on track, and every lap ends where the reference ends: the delta at
the end of the lap is exactly the difference of the lap times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import numpy as np

from pitwall.common.geometry import Array, path_distance, valid_fixes

# Where a lap's distance comes from when the run has no GPS fix: wheel speeds, in one place
# (glob on `topic:path`, factor to m/s; an rpm factor takes the wheel radius, which is
# Settings.wheel_radius_m).
WHEEL_RPM_GLOBS = ("*:wheel_rpm.*", "*:wheel_speed_rpm.*", "*:*wheel_rpm")
WHEEL_MPS_GLOBS = ("*:wheel_speed.*", "*:wheel_speed_mps.*", "*:ground_speed*", "*:vehicle_speed_mps")
MAP_POINTS = 400
# Time lost is the slope of the delta; over shorter stretches it is sensor noise.
LOSS_SMOOTH_M = 20.0
DISTANCE_MISMATCH = 0.05


class CompareError(ValueError):
    """A lap cannot be compared (too few samples, no distance source)."""


@dataclass(slots=True)
class LapPath:
    """One lap as time and distance since its start, sampled where the source was."""

    t: Array  # seconds since the lap's start, non-decreasing, 0 ... lap time
    d: Array  # metres since the lap's start, non-decreasing
    source: str  # "gps" or "wheel_speed"
    lat: Array | None = None  # at the same samples, GPS only
    lon: Array | None = None

    @property
    def length_m(self) -> float:
        return float(self.d[-1])

    @property
    def time_s(self) -> float:
        return float(self.t[-1])


def _window(t: Array, values: Sequence[Array], start_s: float, end_s: float) -> tuple[Array, list[Array]]:
    """Samples inside [start, end] plus the lap's two ends, interpolated."""
    inside = (t > start_s) & (t < end_s)
    ends = [np.interp([start_s, end_s], t, v) for v in values]
    tt = np.concatenate([[start_s], t[inside], [end_s]])
    vv = [np.concatenate([[e[0]], v[inside], [e[1]]]) for v, e in zip(values, ends, strict=True)]
    return tt, vv


def gps_path(t: Array, lat: Array, lon: Array, start_s: float, end_s: float, min_fixes: int = 10) -> LapPath:
    """A lap from GPS fixes (run times in seconds); fixes of 0,0 or NaN are dropped."""
    ok = valid_fixes(lat, lon)
    t, lat, lon = t[ok], lat[ok], lon[ok]
    if int(((t >= start_s) & (t <= end_s)).sum()) < min_fixes or t[0] > start_s or t[-1] < end_s:
        raise CompareError("no GPS fix over the lap")
    tt, (la, lo) = _window(t, (lat, lon), start_s, end_s)
    return LapPath(tt - start_s, path_distance(la, lo), "gps", la, lo)


def speed_path(t: Array, speed_mps: Array, start_s: float, end_s: float) -> LapPath:
    """A lap from a ground speed (m/s), integrated by the trapezoid rule."""
    ok = np.isfinite(speed_mps)
    t, v = t[ok], np.maximum(speed_mps[ok], 0.0)
    if t.size < 2 or t[0] > start_s or t[-1] < end_s:
        raise CompareError("no wheel speed over the lap")
    tt, (vv,) = _window(t, (v,), start_s, end_s)
    d = np.concatenate([[0.0], np.cumsum((vv[1:] + vv[:-1]) / 2 * np.diff(tt))])
    return LapPath(tt - start_s, d, "wheel_speed")


def wheel_speed_keys(keys: Sequence[str]) -> tuple[list[str], float | None]:
    """The wheel-speed signals among `topic:path` keys and their unit: (keys, None) for
    m/s, (keys, 1.0) for rpm (times 2*pi*r/60). The first glob that matches wins."""
    for globs, rpm in ((WHEEL_RPM_GLOBS, 1.0), (WHEEL_MPS_GLOBS, None)):
        for glob in globs:
            found = sorted(k for k in keys if fnmatchcase(k.lower(), glob))
            if found:
                topics = {k.split(":", 1)[0] for k in found}
                topic = sorted(topics)[0]
                return [k for k in found if k.startswith(topic + ":")], rpm
    return [], None


def rpm_to_mps(rpm: Array, radius_m: float) -> Array:
    """Ground speed from a wheel's rpm and its loaded radius (no slip)."""
    out: Array = rpm * (2 * math.pi * radius_m / 60.0)
    return out


def _strictly_increasing(x: Array) -> Array:
    # np.interp needs increasing sample points; a car at rest repeats its distance.
    out: Array = np.maximum.accumulate(x) + np.arange(x.size) * 1e-9
    return out


@dataclass(slots=True)
class Aligned:
    x: str  # "distance" or "time"
    grid: Array
    # Per lap, on the grid: its lap time (s) and its distance (m, reference-normalised).
    time: list[Array] = field(default_factory=list)
    distance: list[Array] = field(default_factory=list)
    # Per lap but the reference: its time minus the reference's at the same distance.
    delta: dict[int, Array] = field(default_factory=dict)
    scale: list[float] = field(default_factory=list)  # reference length / lap length


def align(paths: Sequence[LapPath], reference: int, x: str, points: int) -> Aligned:
    """Every lap on one grid of distance along the reference lap, or of lap time."""
    if x not in ("distance", "time"):
        raise CompareError("x must be distance or time")
    ref = paths[reference]
    length = ref.length_m
    if length <= 0:
        raise CompareError("the reference lap has no distance")
    scale = [length / p.length_m if p.length_m > 0 else math.nan for p in paths]
    norm = [_strictly_increasing(p.d * s) for p, s in zip(paths, scale, strict=True)]
    times = [_strictly_increasing(p.t) for p in paths]
    if x == "distance":
        grid = np.linspace(0.0, length, points)
        out = Aligned(x, grid, scale=scale)
        for p, d in zip(paths, norm, strict=True):
            t = np.interp(grid, d, p.t)
            t[-1] = p.time_s  # the grid ends where every normalised lap ends
            out.time.append(t)
        out.distance = [grid.copy() for _ in paths]
        for i in range(len(paths)):
            if i != reference:
                out.delta[i] = out.time[i] - out.time[reference]
        return out
    grid = np.linspace(0.0, max(p.time_s for p in paths), points)
    out = Aligned(x, grid, scale=scale)
    for p, d, t in zip(paths, norm, times, strict=True):
        dist = np.interp(grid, t, d)
        dist[grid > p.time_s] = np.nan
        out.distance.append(dist)
        tt = grid.copy()
        tt[grid > p.time_s] = np.nan
        out.time.append(tt)
    ref_d = out.distance[reference]
    for i in range(len(paths)):
        if i == reference:
            continue
        at = np.interp(np.nan_to_num(ref_d, nan=0.0), norm[i], paths[i].t)
        delta = at - grid
        delta[~np.isfinite(ref_d)] = np.nan
        out.delta[i] = delta
    return out


def values_at(sample_t: Array, values: Array, at: Array, step: bool) -> Array:
    """A signal at times `at` (same clock as `sample_t`): linear for measurements,
    the last value for states and counters (`step`); NaN outside its samples."""
    out = np.full(at.shape, np.nan)
    ok = np.isfinite(at)
    if sample_t.size == 0 or not ok.any():
        return out
    a = at[ok]
    v = values.astype(np.float64)
    if step:
        idx = np.searchsorted(sample_t, a, side="right") - 1
        got = v[np.clip(idx, 0, v.size - 1)]
        got[idx < 0] = np.nan
    else:
        got = np.interp(a, sample_t, v)
    got[(a < sample_t[0]) | (a > sample_t[-1])] = np.nan
    out[ok] = got
    return out


@dataclass(slots=True)
class LossMap:
    lat: Array
    lon: Array
    loss: Array  # seconds lost per 100 m (>0 slower than the reference)


def loss_map(ref: LapPath, other: LapPath, points: int = MAP_POINTS) -> LossMap:
    """The reference lap's path, each point coloured by the slope of the other lap's delta."""
    if ref.lat is None or ref.lon is None:
        raise CompareError("the reference lap has no GPS path")
    aligned = align([ref, other], 0, "distance", points)
    grid, delta = aligned.grid, aligned.delta[1]
    d = _strictly_increasing(ref.d)
    lat, lon = np.interp(grid, d, ref.lat), np.interp(grid, d, ref.lon)
    spacing = float(grid[1] - grid[0]) if grid.size > 1 else 1.0
    k = max(1, round(LOSS_SMOOTH_M / spacing))
    kernel = np.ones(2 * k + 1) / (2 * k + 1)
    padded = np.concatenate([np.full(k, delta[0]), delta, np.full(k, delta[-1])])
    smooth = np.convolve(padded, kernel, mode="valid")
    loss = np.gradient(smooth, grid) * 100.0
    return LossMap(lat, lon, loss)


def mismatch_notes(paths: Sequence[LapPath], labels: Sequence[str], reference: int) -> list[str]:
    """Laps whose length differs from the reference by more than 5 %: a different line,
    a cut course, or a wheel-speed distance that drifted."""
    ref = paths[reference].length_m
    notes = []
    for i, p in enumerate(paths):
        if i != reference and ref > 0 and abs(p.length_m - ref) / ref > DISTANCE_MISMATCH:
            notes.append(
                f"{labels[i]} is {p.length_m:.0f} m long, the reference {ref:.0f} m: "
                "distances are scaled to the reference, so places on track may not line up"
            )
    return notes
