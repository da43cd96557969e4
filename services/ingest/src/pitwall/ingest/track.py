"""Views derived from the GPS signals for the web page: track, laps, distance, top speed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from pitwall.common.columns import Recording, Signal
from pitwall.common.contracts.documents import LapDoc, TrackDoc
from pitwall.common.geometry import (
    haversine,
    line_crossing,
    local_xy,
    path_distance,
    steps,
    valid_fixes,
)

MAX_TRACK_POINTS = 2000
# A lap is counted when the car comes back within this distance of the start line
# after having been at least LAP_MIN_AWAY_M away from it.
GATE_M = 12.0
LAP_MIN_AWAY_M = 80.0

_LAT_NAMES = ("lat", "latitude")
_LON_NAMES = ("lon", "lng", "longitude", "long")


@dataclass(slots=True)
class TrackView:
    topic: str
    lat_path: str
    lon_path: str
    points: list[list[float]]  # [t_s, lat, lon], at most MAX_TRACK_POINTS
    distance_m: float
    top_speed_mps: float
    laps: list[LapDoc] = field(default_factory=list)
    # Seconds since the origin and metres driven at each fix: lap distances for laps
    # timed by something else (the car's lap timer). Not stored.
    fix_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fix_m: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def distance_between(self, start_s: float, end_s: float) -> float | None:
        if self.fix_t.size < 2 or end_s < self.fix_t[0] or start_s > self.fix_t[-1]:
            return None
        a, b = np.interp([start_s, end_s], self.fix_t, self.fix_m)
        return float(b - a)

    def as_doc(self) -> TrackDoc:
        return {
            "topic": self.topic,
            "lat_path": self.lat_path,
            "lon_path": self.lon_path,
            "points": self.points,
            "distance_m": self.distance_m,
            "top_speed_mps": self.top_speed_mps,
        }


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1].lower()


def find_gps(rec: Recording) -> tuple[str, Signal, Signal] | None:
    """The topic with the most samples that has a latitude and a longitude leaf."""
    best: tuple[int, str, Signal, Signal] | None = None
    for t in rec.topics.values():
        lats = [s for s in t.signals.values() if not s.repeated and _leaf(s.path) in _LAT_NAMES]
        lons = [s for s in t.signals.values() if not s.repeated and _leaf(s.path) in _LON_NAMES]
        if lats and lons and t.count > 1 and (best is None or t.count > best[0]):
            best = (t.count, t.topic, lats[0], lons[0])
    return None if best is None else best[1:]


def derive_track(rec: Recording) -> TrackView | None:
    found = find_gps(rec)
    if found is None or rec.origin_ns is None:
        return None
    topic, lat_sig, lon_sig = found
    t_ns = rec.topics[topic].log_time_ns
    lat = lat_sig.values.astype(np.float64)
    lon = lon_sig.values.astype(np.float64)
    ok = valid_fixes(lat, lon)
    if ok.sum() < 2:
        return None
    t = (t_ns[ok] - rec.origin_ns) / 1e9
    lat, lon = lat[ok], lon[ok]
    step = steps(lat, lon)
    dt = np.diff(t)
    distance = float(step.sum())
    # Speed over ~0.5 s windows: per-sample GPS noise would inflate the top speed.
    top = 0.0
    if len(t) > 2:
        window = max(1, round(0.5 / max(float(np.median(dt)), 1e-6)))
        cum = np.concatenate([[0.0], np.cumsum(step)])
        if len(cum) > window:
            dd = cum[window:] - cum[:-window]
            tt = t[window:] - t[:-window]
            good = tt > 0
            if good.any():
                top = float((dd[good] / tt[good]).max())
    stride = max(1, int(np.ceil(len(t) / MAX_TRACK_POINTS)))
    idx = np.arange(0, len(t), stride)
    points = np.column_stack([t[idx], lat[idx], lon[idx]]).round(7).tolist()
    view = TrackView(topic, lat_sig.path, lon_sig.path, points, distance, top)
    view.laps = detect_laps(t, lat, lon)
    view.fix_t, view.fix_m = t, path_distance(lat, lon)
    return view


def detect_laps(t: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> list[LapDoc]:
    """Laps from returns to the start line (where the car first moved)."""
    if len(t) < 3:
        return []
    step = steps(lat, lon)
    dt = np.diff(t)
    # Moving = faster than walking pace; a per-sample distance threshold would depend on
    # the GPS rate (at 200 Hz a car moves ~7 cm per sample).
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt > 0, step / dt, 0.0)
    moving = np.nonzero(speed > 2.0)[0]
    if moving.size == 0:
        return []
    s = int(moving[0])
    d = haversine(np.full_like(lat, lat[s]), np.full_like(lon, lon[s]), lat, lon)
    crossings = [s]
    away = False
    i = s + 1
    n = len(t)
    while i < n:
        if not away:
            away = d[i] > LAP_MIN_AWAY_M
            i += 1
            continue
        if d[i] < GATE_M:
            # The closest approach inside the gate is the crossing.
            j = i
            while j + 1 < n and d[j + 1] < GATE_M:
                j += 1
            k = i + int(np.argmin(d[i : j + 1]))
            crossings.append(k)
            away = False
            i = j + 1
            continue
        i += 1
    # The start line: through where the car first moved, across its direction of travel.
    x, y = local_xy(lat, lon, float(lat[s]), float(lon[s]))
    ahead = int(np.searchsorted(np.cumsum(step[s:]), 3.0)) + s + 1
    ahead = min(ahead, n - 1)
    heading = np.array([x[ahead] - x[s], y[ahead] - y[s]])
    norm = float(np.hypot(*heading))
    times = [float(t[s])]
    for k in crossings[1:]:
        if norm > 0:
            times.append(line_crossing(t, (x * heading[0] + y * heading[1]) / norm, k))
        else:
            times.append(float(t[k]))
    cum = path_distance(lat, lon)
    laps: list[LapDoc] = []
    pairs = zip(itertools.pairwise(crossings), itertools.pairwise(times), strict=True)
    for n_lap, ((a, b), (ta, tb)) in enumerate(pairs, start=1):
        laps.append(
            {
                "lap": n_lap,
                "start_s": ta,
                "end_s": tb,
                "time_s": tb - ta,
                "distance_m": float(cum[b] - cum[a]),
                "source": "gps",
            }
        )
    return laps


# Lap counters a logger or dash may record (leaf names, lower case): used for laps when
# a run has no GPS fix. The car's timer counts crossings of its own beacon or line.
_INTEGER_KINDS = ("int32", "uint32", "int64", "uint64")
LAP_COUNTER_NAMES = ("lap_number", "laps_completed", "lap_count", "lap_counter", "current_lap")


def find_lap_counter(rec: Recording) -> tuple[str, Signal] | None:
    """The fastest-sampled integer lap counter of the recording."""
    best: tuple[int, str, Signal] | None = None
    for t in rec.topics.values():
        for sig in t.signals.values():
            if sig.repeated or _leaf(sig.path) not in LAP_COUNTER_NAMES or sig.kind not in _INTEGER_KINDS:
                continue
            if t.count > 1 and (best is None or t.count > best[0]):
                best = (t.count, t.topic, sig)
    return None if best is None else best[1:]


def laps_from_counter(t: np.ndarray, counter: np.ndarray) -> list[LapDoc]:
    """Laps between successive +1 steps of a lap counter; the lap before the first step
    (the out lap, its start unknown) is left out. Each step is placed midway between the
    two samples around it."""
    if len(t) < 2:
        return []
    c = counter.astype(np.int64)
    steps = np.nonzero(np.diff(c) == 1)[0]
    marks = (t[steps] + t[steps + 1]) / 2
    laps: list[LapDoc] = []
    for k in range(len(marks) - 1):
        laps.append(
            {
                "lap": int(c[steps[k] + 1]) if c[steps[k] + 1] > 0 else k + 1,
                "start_s": float(marks[k]),
                "end_s": float(marks[k + 1]),
                "time_s": float(marks[k + 1] - marks[k]),
                "distance_m": None,
                "source": "lap_counter",
            }
        )
    return laps


# A running lap clock beside a lap number (leaf names, lower case; seconds unless the
# name ends in _ms): the car's own timer, which knows exactly when it crossed its line.
LAP_CLOCK_NAMES = ("lap_time_ms", "current_lap_time_ms", "lap_time", "lap_time_s", "current_lap_time")


def find_lap_timer(rec: Recording) -> tuple[str, Signal, Signal] | None:
    """(topic, lap number, lap clock) of a topic that carries both."""
    for t in sorted(rec.topics.values(), key=lambda t: -t.count):
        scalars = [s for s in t.signals.values() if not s.repeated]
        numbers = [s for s in scalars if _leaf(s.path) in LAP_COUNTER_NAMES and s.kind in _INTEGER_KINDS]
        clocks = [s for s in scalars
                  if _leaf(s.path) in LAP_CLOCK_NAMES and s.kind in (*_INTEGER_KINDS, "single", "double")]
        if numbers and clocks and t.count > 1:
            return t.topic, numbers[0], clocks[0]
    return None


def laps_from_timer(t: np.ndarray, number: np.ndarray, clock: np.ndarray, clock_path: str) -> list[LapDoc]:
    """Completed laps of the car's lap timer.

    Each sample of a running lap says when its lap started (its time minus the clock);
    the median over the lap's samples cancels the clock's rounding (1 ms) and the
    logger's timestamp jitter, so boundaries come out to a few microseconds."""
    scale = 1e-3 if _leaf(clock_path).endswith("_ms") else 1.0
    n = number.astype(np.int64)
    c = clock.astype(np.float64) * scale
    running = c > 0
    starts: dict[int, float] = {}
    for lap in np.unique(n[running]):
        sel = running & (n == lap)
        if sel.sum() >= 2:
            starts[int(lap)] = float(np.median(t[sel] - c[sel]))
    laps: list[LapDoc] = []
    for lap in sorted(starts):
        if lap + 1 in starts and starts[lap + 1] > starts[lap]:
            laps.append(
                {
                    "lap": lap,
                    "start_s": starts[lap],
                    "end_s": starts[lap + 1],
                    "time_s": starts[lap + 1] - starts[lap],
                    "distance_m": None,
                    "source": "lap_timer",
                }
            )
    return laps
