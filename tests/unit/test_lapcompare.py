"""pitwall.common.lapcompare on synthetic laps whose answers are known in closed form:
constant and linearly rising speeds, straight and circular GPS paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pitwall.common import lapcompare as lc

R = 6_371_000.0  # the oracle's own sphere (the mean Earth radius)


def _constant_lap(speed: float, length: float, hz: float = 50.0) -> lc.LapPath:
    t = np.arange(0.0, length / speed, 1 / hz)
    t = np.append(t, length / speed)
    return lc.LapPath(t, speed * t, "wheel_speed")


def test_gps_path_of_a_straight_lap_is_speed_times_time() -> None:
    # North along a meridian at 20 m/s, 10 Hz fixes; the lap is a window between fixes.
    t = np.arange(0.0, 60.0, 0.1)
    lat = 47.0 + np.degrees(20.0 * t / R)
    lon = np.full_like(t, 8.5)
    path = lc.gps_path(t, lat, lon, 10.05, 50.05)
    assert path.source == "gps"
    assert path.time_s == pytest.approx(40.0, abs=1e-9)
    assert path.length_m == pytest.approx(800.0, rel=1e-9)
    assert path.t[0] == 0.0 and path.d[0] == 0.0
    assert np.all(np.diff(path.d) >= 0)
    # Distance at each sample is 20 m/s times its time into the lap.
    assert path.d == pytest.approx(20.0 * path.t, rel=1e-6, abs=1e-6)
    assert path.lat is not None and path.lat[0] == pytest.approx(47.0 + math.degrees(20.0 * 10.05 / R))


def test_gps_path_of_a_circular_lap_is_its_circumference() -> None:
    # 150 m radius, one lap in 40 s, 100 Hz: the fixes make a 4000-gon.
    r, lap_s, hz = 150.0, 40.0, 100.0
    t = np.arange(0.0, 2 * lap_s + 1e-9, 1 / hz)
    theta = 2 * math.pi * t / lap_s
    lat0 = 52.07
    lat = lat0 + np.degrees(r * np.sin(theta) / R)
    lon = -1.02 + np.degrees(r * np.cos(theta) / (R * math.cos(math.radians(lat0))))
    path = lc.gps_path(t, lat, lon, lap_s / 2, lap_s * 1.5)
    assert path.time_s == pytest.approx(lap_s)
    assert path.length_m == pytest.approx(2 * math.pi * r, rel=1e-4)


def test_gps_path_drops_missing_fixes_and_refuses_a_lap_without_them() -> None:
    t = np.arange(0.0, 30.0, 0.1)
    lat = 47.0 + np.degrees(10.0 * t / R)
    lon = np.full_like(t, 8.5)
    lat[50:60] = 0.0
    lon[50:60] = 0.0  # no fix for a second: skipped, not a jump to 0,0
    assert lc.gps_path(t, lat, lon, 1.0, 20.0).length_m == pytest.approx(190.0, rel=1e-6)
    with pytest.raises(lc.CompareError):
        lc.gps_path(t, lat, lon, 25.0, 40.0)  # the lap ends after the last fix


def test_speed_path_integrates_constant_and_rising_speeds() -> None:
    t = np.linspace(0.0, 30.0, 3001)
    flat = lc.speed_path(t, np.full_like(t, 12.5), 5.0, 25.0)
    assert flat.length_m == pytest.approx(12.5 * 20.0)
    assert flat.time_s == pytest.approx(20.0)
    # v = 2 t: distance between t1 and t2 is t2^2 - t1^2 (the trapezoid rule is exact).
    ramp = lc.speed_path(t, 2.0 * t, 5.0, 25.0)
    assert ramp.length_m == pytest.approx(25.0**2 - 5.0**2, rel=1e-9)
    # Negative speeds (a sensor's noise at rest) count as standing still.
    back = lc.speed_path(t, np.full_like(t, -3.0), 5.0, 25.0)
    assert back.length_m == 0.0


def test_rpm_to_mps_is_one_circumference_per_revolution() -> None:
    assert float(lc.rpm_to_mps(np.array([60.0]), 0.25)[0]) == pytest.approx(2 * math.pi * 0.25)
    assert float(lc.rpm_to_mps(np.array([600.0]), 0.2032)[0]) == pytest.approx(10 * 2 * math.pi * 0.2032)


def test_wheel_speed_keys_prefer_rpm_and_keep_one_topic() -> None:
    keys = ["/wheels:wheel_rpm.fl", "/wheels:wheel_rpm.fr", "/other:wheel_rpm.rl", "/car:ground_speed"]
    assert lc.wheel_speed_keys(keys) == (["/other:wheel_rpm.rl"], 1.0)
    assert lc.wheel_speed_keys(["/car:ground_speed", "/x:y"]) == (["/car:ground_speed"], None)
    assert lc.wheel_speed_keys(["/x:y"]) == ([], None)


def test_align_by_distance_gives_the_delta_of_a_slower_lap() -> None:
    ref = _constant_lap(20.0, 800.0)  # 40 s
    slow = _constant_lap(18.0, 800.0)  # 44.44 s
    aligned = lc.align([ref, slow], 0, "distance", 401)
    assert aligned.grid[0] == 0.0 and aligned.grid[-1] == pytest.approx(800.0)
    want = aligned.grid / 18.0 - aligned.grid / 20.0
    assert aligned.delta[1] == pytest.approx(want, abs=1e-6)
    assert aligned.delta[1][-1] == pytest.approx(slow.time_s - ref.time_s)
    assert 0 not in aligned.delta
    assert aligned.scale == pytest.approx([1.0, 1.0])


def test_align_scales_a_longer_lap_to_the_reference_length() -> None:
    ref = _constant_lap(20.0, 800.0)
    wide = _constant_lap(20.0, 840.0)  # a wider line: 5 % longer, 42 s
    aligned = lc.align([ref, wide], 0, "distance", 201)
    assert aligned.scale[1] == pytest.approx(800.0 / 840.0)
    # Every lap ends where the reference ends: the last delta is the lap-time difference.
    assert aligned.delta[1][-1] == pytest.approx(2.0)
    assert aligned.delta[1][100] == pytest.approx(1.0, abs=1e-6)  # half way, half the loss


def test_align_by_time_gives_distance_and_delta() -> None:
    ref = _constant_lap(20.0, 800.0)
    slow = _constant_lap(16.0, 800.0)  # 50 s
    aligned = lc.align([ref, slow], 0, "time", 501)
    assert aligned.grid[-1] == pytest.approx(50.0)
    i = int(np.searchsorted(aligned.grid, 20.0))
    assert aligned.distance[0][i] == pytest.approx(20.0 * aligned.grid[i], rel=1e-6)
    assert aligned.distance[1][i] == pytest.approx(16.0 * aligned.grid[i], rel=1e-6)
    # The reference ended at 40 s: later grid points have no distance on it.
    assert np.isnan(aligned.distance[0][aligned.grid > 40.0 + 1e-9]).all()
    # At time g the reference is at 20 g; the slow lap got there at 20 g / 16.
    # (to 1e-5 s: distances get a nanometre per sample so that they strictly increase)
    assert aligned.delta[1][i] == pytest.approx(20.0 * aligned.grid[i] / 16.0 - aligned.grid[i], abs=1e-5)


def test_align_refuses_bad_input() -> None:
    with pytest.raises(lc.CompareError):
        lc.align([_constant_lap(20.0, 800.0)], 0, "speed", 10)
    still = lc.LapPath(np.array([0.0, 1.0]), np.array([0.0, 0.0]), "wheel_speed")
    with pytest.raises(lc.CompareError):
        lc.align([still], 0, "distance", 10)


def test_values_at_is_linear_or_held_and_nan_outside() -> None:
    t = np.array([0.0, 1.0, 2.0])
    v = np.array([0.0, 10.0, 30.0])
    at = np.array([-0.5, 0.5, 1.5, 2.0, 2.5, np.nan])
    linear = lc.values_at(t, v, at, step=False)
    held = lc.values_at(t, v, at, step=True)
    assert linear[1:4] == pytest.approx([5.0, 20.0, 30.0])
    assert held[1:4] == pytest.approx([0.0, 10.0, 30.0])
    for out in (linear, held):
        assert np.isnan(out[0]) and np.isnan(out[4]) and np.isnan(out[5])


def test_loss_map_of_a_uniformly_slower_lap_is_flat() -> None:
    t = np.arange(0.0, 40.0 + 1e-9, 0.02)
    lat = 47.0 + np.degrees(20.0 * t / R)
    ref = lc.LapPath(t, 20.0 * t, "gps", lat, np.full_like(t, 8.5))
    slow = _constant_lap(18.0, 800.0)
    loss = lc.loss_map(ref, slow, points=401)
    per_100m = 100.0 / 18.0 - 100.0 / 20.0  # 0.556 s lost every 100 m
    assert loss.loss[20:-20] == pytest.approx(per_100m, rel=1e-3)
    assert loss.lat[0] == pytest.approx(47.0) and loss.lat[-1] == pytest.approx(lat[-1])
    with pytest.raises(lc.CompareError):
        lc.loss_map(slow, ref)  # no GPS path on the reference


def test_mismatch_notes_name_laps_more_than_five_percent_off() -> None:
    ref = _constant_lap(20.0, 800.0)
    close = _constant_lap(20.0, 816.0)  # 2 %
    far = _constant_lap(20.0, 880.0)  # 10 %
    notes = lc.mismatch_notes([ref, close, far], ["ref", "close", "far"], 0)
    assert len(notes) == 1 and notes[0].startswith("far is 880 m long, the reference 800 m")
