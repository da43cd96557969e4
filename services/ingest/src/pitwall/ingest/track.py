"""Views derived from the GPS signals for the web page: track, laps, distance, top speed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pitwall.common.columns import Recording, Signal

EARTH_RADIUS_M = 6_371_000.0
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
    laps: list[dict[str, Any]] = field(default_factory=list)

    def as_doc(self) -> dict[str, Any]:
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
    return None if best is None else best[1:]  # type: ignore[return-value]


def _haversine(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def derive_track(rec: Recording) -> TrackView | None:
    found = find_gps(rec)
    if found is None or rec.origin_ns is None:
        return None
    topic, lat_sig, lon_sig = found
    t_ns = rec.topics[topic].log_time_ns
    lat = lat_sig.values.astype(np.float64)
    lon = lon_sig.values.astype(np.float64)
    # No fix yet: a logger reports 0,0 or NaN before the receiver locks.
    ok = np.isfinite(lat) & np.isfinite(lon) & ~((lat == 0) & (lon == 0)) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if ok.sum() < 2:
        return None
    t = (t_ns[ok] - rec.origin_ns) / 1e9
    lat, lon = lat[ok], lon[ok]
    step = _haversine(lat[:-1], lon[:-1], lat[1:], lon[1:])
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
    return view


def detect_laps(t: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> list[dict[str, Any]]:
    """Laps from returns to the start line (where the car first moved)."""
    if len(t) < 3:
        return []
    step = _haversine(lat[:-1], lon[:-1], lat[1:], lon[1:])
    dt = np.diff(t)
    # Moving = faster than walking pace; a per-sample distance threshold would depend on
    # the GPS rate (at 200 Hz a car moves ~7 cm per sample).
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt > 0, step / dt, 0.0)
    moving = np.nonzero(speed > 2.0)[0]
    if moving.size == 0:
        return []
    s = int(moving[0])
    d = _haversine(np.full_like(lat, lat[s]), np.full_like(lon, lon[s]), lat, lon)
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
    laps = []
    for n_lap, (a, b) in enumerate(itertools.pairwise(crossings), start=1):
        laps.append(
            {
                "lap": n_lap,
                "start_s": float(t[a]),
                "end_s": float(t[b]),
                "time_s": float(t[b] - t[a]),
                "distance_m": float(step[a:b].sum()),
            }
        )
    return laps
