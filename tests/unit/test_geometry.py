"""pitwall.common.geometry against oracles that do not use it: arc lengths on the sphere,
the chord formula in 3-D, polygons inscribed in a circle, straight lines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pitwall.common.geometry import (
    EARTH_RADIUS_M,
    haversine,
    line_crossing,
    local_xy,
    path_distance,
    steps,
    valid_fixes,
)

R = 6_371_000.0  # stated here, not imported: the oracle's own sphere


def _a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _chord_distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance from the straight chord between the two points in 3-D."""
    def unit(lat: float, lon: float) -> np.ndarray:
        p, lam = math.radians(lat), math.radians(lon)
        return np.array([math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p)])

    chord = float(np.linalg.norm(unit(lat1, lon1) - unit(lat2, lon2)))
    return 2 * R * math.asin(chord / 2)


def test_the_sphere_is_the_mean_earth() -> None:
    assert EARTH_RADIUS_M == R


@pytest.mark.parametrize(
    ("a", "b", "metres"),
    [
        ((0.0, 0.0), (1.0, 0.0), R * math.pi / 180),  # one degree along a meridian
        ((0.0, 0.0), (0.0, 1.0), R * math.pi / 180),  # one degree along the equator
        ((0.0, 0.0), (0.0, 90.0), R * math.pi / 2),  # a quarter of the equator
        ((0.0, 0.0), (0.0, 180.0), R * math.pi),  # antipodes
        ((90.0, 0.0), (-90.0, 0.0), R * math.pi),  # pole to pole
        ((60.0, 0.0), (60.0, 0.0), 0.0),
    ],
)
def test_arcs_of_known_length(a: tuple[float, float], b: tuple[float, float], metres: float) -> None:
    got = float(haversine(_a(a[0]), _a(a[1]), _a(b[0]), _a(b[1]))[0])
    assert got == pytest.approx(metres, rel=1e-9, abs=1e-6)


def test_real_places() -> None:
    # London (Trafalgar Square) to Paris (Notre-Dame): 343.6 km on this sphere (the
    # commonly quoted haversine figure); Silverstone to Hockenheim by the chord.
    london, paris = (51.5080, -0.1281), (48.8530, 2.3498)
    assert float(haversine(_a(london[0]), _a(london[1]), _a(paris[0]), _a(paris[1]))[0]) == pytest.approx(
        _chord_distance(*london, *paris), rel=1e-9
    )
    assert _chord_distance(*london, *paris) == pytest.approx(343_600, rel=2e-3)
    silverstone, hockenheim = (52.0786, -1.0169), (49.3278, 8.5656)
    assert float(haversine(_a(silverstone[0]), _a(silverstone[1]), _a(hockenheim[0]), _a(hockenheim[1]))[0]) == (
        pytest.approx(_chord_distance(*silverstone, *hockenheim), rel=1e-9)
    )


def test_random_pairs_match_the_chord_formula() -> None:
    rng = np.random.default_rng(22)
    lat1, lat2 = rng.uniform(-89, 89, 200), rng.uniform(-89, 89, 200)
    lon1, lon2 = rng.uniform(-180, 180, 200), rng.uniform(-180, 180, 200)
    got = haversine(lat1, lon1, lat2, lon2)
    want = [_chord_distance(*p) for p in zip(lat1, lon1, lat2, lon2, strict=True)]
    assert got == pytest.approx(want, rel=1e-7, abs=1e-3)


def test_a_meridian_path_is_as_long_as_its_arc() -> None:
    lat = np.linspace(47.0, 47.01, 1001)
    lon = np.full_like(lat, 8.5)
    d = path_distance(lat, lon)
    assert d[0] == 0.0 and np.all(np.diff(d) > 0)
    assert d[-1] == pytest.approx(R * math.radians(0.01), rel=1e-9)
    assert steps(lat, lon).shape == (1000,)
    assert float(steps(lat, lon).sum()) == pytest.approx(d[-1], rel=1e-12)


def test_a_circle_is_its_inscribed_polygon() -> None:
    # 360 fixes on a 150 m circle around a track: the path is a regular 360-gon.
    lat0, lon0, r, n = 52.07, -1.02, 150.0, 360
    theta = np.linspace(0.0, 2 * math.pi, n + 1)
    lat = lat0 + np.degrees(r * np.sin(theta) / R)
    lon = lon0 + np.degrees(r * np.cos(theta) / (R * math.cos(math.radians(lat0))))
    polygon = 2 * n * r * math.sin(math.pi / n)
    assert path_distance(lat, lon)[-1] == pytest.approx(polygon, rel=1e-4)


def test_invalid_fixes() -> None:
    lat = _a(47.0, 0.0, float("nan"), 91.0, 47.0, 0.0)
    lon = _a(8.0, 0.0, 8.0, 8.0, 181.0, 8.0)
    assert valid_fixes(lat, lon).tolist() == [True, False, False, False, False, True]


def test_local_xy_is_metres_east_and_north() -> None:
    lat0, lon0 = 49.33, 8.57
    north = lat0 + math.degrees(100.0 / R)
    east = lon0 + math.degrees(50.0 / (R * math.cos(math.radians(lat0))))
    x, y = local_xy(_a(lat0, north, lat0), _a(lon0, lon0, east), lat0, lon0)
    assert x == pytest.approx([0.0, 0.0, 50.0], abs=1e-9)
    assert y == pytest.approx([0.0, 100.0, 0.0], abs=1e-9)


def test_a_line_crossing_is_interpolated_between_samples() -> None:
    t = np.arange(0.0, 1.0, 0.005)  # 200 Hz
    crossed_at = 0.4321
    along = 18.0 * (t - crossed_at)  # 18 m/s straight through the line
    k = int(np.argmin(np.abs(along)))
    assert line_crossing(t, along, k) == pytest.approx(crossed_at, abs=1e-12)
    # Never crossing near k: the sample itself.
    assert line_crossing(t, np.full_like(t, 5.0), 10) == t[10]
