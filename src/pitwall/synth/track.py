"""A closed track and a car driving laps of it: where the car is and how fast, over time.

The track is a star-shaped closed curve (a periodic spline through radii drawn around a
centre, so it never crosses itself) with a few slaloms weaved in, scaled so that a
flying lap takes ~60-85 s. The car follows a quasi-steady lap-time-simulation speed
profile (corner speed limited by lateral grip, straights by traction and braking); it
waits at the start/finish line while the car powers up, launches from standstill, then
laps until the recording ends. Every other signal of a synth file (GPS, IMU, wheel
speeds, motor torques, battery) is derived from this one timeline, so they agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_000.0
GRAVITY = 9.81
# Seconds between recording start and launch: the car powers up at the line meanwhile.
LAUNCH_AFTER_S = 2.0

# Real FSAE venues near which the synthetic track is laid (only the origin is used).
VENUES: tuple[tuple[str, float, float, float], ...] = (
    ("Michigan International Speedway - lot 5", 42.0663, -84.2412, 280.0),
    ("Lincoln Airpark - autocross", 40.8505, -96.7590, 358.0),
    ("Georgia Tech - Tech Parkway lot", 33.7791, -84.4040, 290.0),
    ("Road Atlanta - paddock", 34.1459, -83.8157, 290.0),
    ("Gingerman Raceway - skidpad area", 42.4095, -86.1405, 200.0),
)

_DS = 0.5  # metres between samples along the track, roughly


@dataclass(frozen=True, slots=True)
class Limits:
    """What the driver uses of the car: m/s^2 and m/s."""

    lateral: float
    accel: float
    brake: float
    top_speed: float


@dataclass(frozen=True, slots=True)
class Track:
    """The centre line, sampled every `ds` metres; index i is at distance i*ds."""

    name: str
    length_m: float
    ds: float
    x: npt.NDArray[np.float64]  # east of origin, m
    y: npt.NDArray[np.float64]  # north of origin, m
    heading: npt.NDArray[np.float64]  # direction of travel, rad, counter-clockwise from east
    curvature: npt.NDArray[np.float64]  # 1/m, positive turning left
    altitude: npt.NDArray[np.float64]  # m above sea level
    origin_lat: float
    origin_lon: float

    @property
    def s(self) -> npt.NDArray[np.float64]:
        return np.arange(self.x.shape[0], dtype=np.float64) * self.ds

    def sample(self, name: str, distance: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """A track property at distances along the lap (wrapped)."""
        values: npt.NDArray[np.float64] = getattr(self, name)
        closed_s = np.append(self.s, self.length_m)
        closed = np.append(values, values[0])
        if name == "heading":
            closed = np.unwrap(closed)
        return np.interp(np.mod(distance, self.length_m), closed_s, closed)

    def to_lat_lon(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        lat = self.origin_lat + np.degrees(y / EARTH_RADIUS_M)
        metres_per_rad_lon = EARTH_RADIUS_M * math.cos(math.radians(self.origin_lat))
        return lat, self.origin_lon + np.degrees(x / metres_per_rad_lon)


@dataclass(frozen=True, slots=True)
class _Slalom:
    at: float  # fraction of the lap where it starts
    wavelength: float  # m: twice the cone spacing
    amplitude: float  # m
    waves: int


Polyline = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def make_track(rng: np.random.Generator, limits: Limits) -> Track:
    """A closed loop whose flying lap at `limits` takes ~60-85 s (drawn from `rng`).

    Sizing uses the quick constant-acceleration profile; the driven lap (acceleration
    fading near top speed) comes out a few per cent slower."""
    name, lat0, lon0, alt0 = VENUES[int(rng.integers(len(VENUES)))]
    for _ in range(200):
        target_lap = float(rng.uniform(58.0, 77.0))
        shape = _unit_shape(rng.uniform(0.6, 1.0, int(rng.integers(16, 26))))
        starts = np.sort(rng.uniform(0.05, 0.95, int(rng.integers(2, 5))))
        slaloms = tuple(
            _Slalom(
                float(a),
                float(rng.uniform(18.0, 26.0)),
                float(rng.uniform(0.6, 1.0)),
                int(rng.integers(2, 5)),
            )
            for a in starts
        )
        # Corners tighten as the shape shrinks: one too tight at the largest size is hopeless.
        x, y, ds = _layout(shape, slaloms, 1200.0)
        if np.max(np.abs(_curvature(x, y, ds))) > 1 / 4.0:
            continue
        # Lap time grows with the size of the same shape: bisect the size.
        lo, hi = 250.0, 1400.0
        for _ in range(16):
            mid = (lo + hi) / 2
            if _lap_time(_layout(shape, slaloms, mid), limits) > target_lap:
                hi = mid
            else:
                lo = mid
        x, y, ds = _layout(shape, slaloms, lo)
        tightest = float(np.max(np.abs(_curvature(x, y, ds))))
        # FSAE hairpins are >= 9 m outside diameter: ~4 m radius on the racing line.
        if tightest < 1 / 4.0 and 300.0 < x.shape[0] * ds < 1200.0:
            break
    else:  # pragma: no cover - 200 rejections in a row do not happen for these ranges
        raise RuntimeError("could not lay out a track")
    # Start/finish on the straightest stretch, as organisers put it.
    n = x.shape[0]
    window = max(1, int(40.0 / ds))
    straightness = np.convolve(np.tile(np.abs(_curvature(x, y, ds)), 2), np.ones(window), "valid")
    start = (int(np.argmin(straightness[:n])) + window // 2) % n
    x, y = np.roll(x, -start), np.roll(y, -start)
    heading = np.arctan2(np.roll(y, -1) - np.roll(y, 1), np.roll(x, -1) - np.roll(x, 1))
    phase = rng.uniform(0, 2 * math.pi)
    altitude = alt0 + 1.2 * np.sin(2 * math.pi * np.arange(n) / n + phase)
    return Track(name, n * ds, ds, x, y, heading, _curvature(x, y, ds), altitude, lat0, lon0)


def _unit_shape(radii: npt.NDArray[np.float64]) -> Polyline:
    """Closed star-shaped curve r(theta) through the radii: it cannot cross itself."""
    k = radii.shape[0]
    theta = np.linspace(0.0, 2 * math.pi, 6000, endpoint=False)
    r = _periodic_catmull_rom(radii, theta / (2 * math.pi) * k)
    return r * np.cos(theta), r * np.sin(theta)


def _equal_steps(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Resample a closed polyline at equal arc-length steps (so index*ds = distance)."""
    seg = np.hypot(np.diff(x, append=x[0]), np.diff(y, append=y[0]))
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    n = round(cum[-1] / _DS)
    ds = float(cum[-1] / n)
    s = np.arange(n) * ds
    return np.interp(s, cum, np.append(x, x[0])), np.interp(s, cum, np.append(y, y[0])), ds


def _layout(
    shape: Polyline, slaloms: tuple[_Slalom, ...], size: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """The shape scaled to `size` metres around, with slaloms weaved into it."""
    x, y = shape
    perimeter = float(np.hypot(np.diff(x, append=x[0]), np.diff(y, append=y[0])).sum())
    x, y, ds = _equal_steps(x * size / perimeter, y * size / perimeter)
    s = np.arange(x.shape[0]) * ds
    offset = np.zeros_like(s)
    for sl in slaloms:
        u = (s - sl.at * size) / sl.wavelength
        # The sin^2 envelope eases in and out: no kink where the slalom starts or ends.
        weave = np.sin(2 * math.pi * u) * np.sin(math.pi * u / sl.waves) ** 2
        offset += np.where((u >= 0) & (u <= sl.waves), sl.amplitude * weave, 0.0)
    # Weave sideways along the normal of the base line.
    tx, ty = np.roll(x, -1) - np.roll(x, 1), np.roll(y, -1) - np.roll(y, 1)
    norm = np.hypot(tx, ty)
    return _equal_steps(x - offset * ty / norm, y + offset * tx / norm)


def _periodic_catmull_rom(
    points: npt.NDArray[np.float64], u: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    k = points.shape[0]
    i = np.floor(u).astype(np.int64)
    f = u - i
    p0, p1, p2, p3 = (points[(i + d) % k] for d in (-1, 0, 1, 2))
    return 0.5 * (
        2 * p1
        + (-p0 + p2) * f
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f**2
        + (-p0 + 3 * p1 - 3 * p2 + p3) * f**3
    )


def _curvature(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], ds: float
) -> npt.NDArray[np.float64]:
    # Central differences on the closed curve (wrap-around neighbours).
    xp, xm = np.roll(x, -1), np.roll(x, 1)
    yp, ym = np.roll(y, -1), np.roll(y, 1)
    dx, dy = (xp - xm) / (2 * ds), (yp - ym) / (2 * ds)
    ddx, ddy = (xp - 2 * x + xm) / ds**2, (yp - 2 * y + ym) / ds**2
    denom = np.power(dx * dx + dy * dy, 1.5)
    return (dx * ddy - dy * ddx) / np.where(denom == 0, 1.0, denom)


# --- the drive ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Drive:
    """Distance and speed of the car over time (time 0 = start of the recording)."""

    track: Track
    t_grid: npt.NDArray[np.float64]  # s, increasing
    s_grid: npt.NDArray[np.float64]  # total distance driven, m
    v_grid: npt.NDArray[np.float64]  # m/s
    lap_time_s: float  # a flying lap
    lap_crossings_s: tuple[float, ...]  # when the car crossed the start/finish line

    def distance(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.interp(t, self.t_grid, self.s_grid)

    def speed(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.interp(t, self.t_grid, self.v_grid)

    def laps_completed(self, duration_s: float) -> int:
        return sum(1 for c in self.lap_crossings_s if c <= duration_s)


def _forward_limit(u_lim: npt.NDArray[np.float64], step: float) -> npt.NDArray[np.float64]:
    """u[i] = min(u_lim[i], u[i-1] + step) on squared speeds, as one vectorised scan.

    Unrolled, u[i] = min over j <= i of u_lim[j] + step*(i - j): a running minimum.
    """
    i = np.arange(u_lim.shape[0], dtype=np.float64)
    return step * i + np.minimum.accumulate(u_lim - step * i)


def speed_profile(
    curvature: npt.NDArray[np.float64], ds: float, lim: Limits
) -> npt.NDArray[np.float64]:
    """Fastest periodic speed along the lap within grip, traction and braking limits."""
    kappa = np.abs(curvature)
    u = np.minimum(lim.top_speed, np.sqrt(lim.lateral / np.maximum(kappa, 1e-6))) ** 2
    n = u.shape[0]
    # Three copies of the closed loop; the middle one is free of start/end effects.
    u3 = _forward_limit(np.tile(u, 3), 2 * lim.accel * ds)
    u3 = _forward_limit(u3[::-1], 2 * lim.brake * ds)[::-1]
    return np.sqrt(u3[n : 2 * n])


def _lap_time(
    laid_out: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float], lim: Limits
) -> float:
    x, y, ds = laid_out
    return float(np.sum(ds / speed_profile(_curvature(x, y, ds), ds, lim)))


def _forward_limit_fading(
    u_lim: npt.NDArray[np.float64], ds: float, lim: Limits
) -> npt.NDArray[np.float64]:
    """As `_forward_limit`, but the car pulls less as it nears top speed (drag, power), so
    speed creeps up to the limit instead of hitting it like a wall."""
    out = u_lim.copy()
    top2 = lim.top_speed**2
    for i in range(1, out.shape[0]):
        prev = out[i - 1]
        out[i] = min(out[i], prev + 2 * lim.accel * ds * max(0.05, 1.0 - prev / top2))
    return out


def _driven_profile(
    curvature: npt.NDArray[np.float64], ds: float, lim: Limits
) -> npt.NDArray[np.float64]:
    """`speed_profile` with the fading acceleration (three laps, the middle one kept)."""
    n = curvature.shape[0]
    u = speed_profile(curvature, ds, lim) ** 2
    u3 = _forward_limit_fading(np.tile(u, 3), ds, lim)
    u3 = _forward_limit(u3[::-1], 2 * lim.brake * ds)[::-1]
    return np.sqrt(u3[n : 2 * n])


def plan_drive(track: Track, lim: Limits, duration_s: float) -> Drive:
    """Launch from the start line after the power-up, then lap until the recording ends."""
    ds = track.ds
    profile = _driven_profile(track.curvature, ds, lim)
    lap_time = float(np.sum(ds / profile))
    laps = int(max(0.0, duration_s - LAUNCH_AFTER_S) / lap_time) + 2
    n = profile.shape[0]
    v = np.tile(profile, laps)
    # Standing start: traction-limited acceleration from zero on the first lap.
    first = v[:n] ** 2
    first[0] = 0.0
    v[:n] = np.sqrt(_forward_limit_fading(first, ds, lim))
    v = np.append(v, profile[0])
    s = np.arange(v.shape[0], dtype=np.float64) * ds
    dt = 2 * ds / (v[:-1] + v[1:])
    t = LAUNCH_AFTER_S + np.concatenate(([0.0], np.cumsum(dt)))
    crossings = tuple(float(np.interp(k * track.length_m, s, t)) for k in range(1, laps))
    # Parked at the line before launch.
    return Drive(
        track,
        np.concatenate(([0.0], t)),
        np.concatenate(([0.0], s)),
        np.concatenate(([0.0], v)),
        lap_time,
        crossings,
    )
