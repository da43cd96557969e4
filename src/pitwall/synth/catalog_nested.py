"""The main computer's hand-written messages: nested, 10-500 Hz.

Two files: `hytech_types.proto` (package `hytech_types`: xyz / yaw-pitch-roll / per-wheel
vectors, the GPS block) imported by `hytech_msgs.proto` (package `hytech_msgs`), so each
schema is a FileDescriptorSet of two files with a cross-file import. Topic = message
name, except the battery message `hytech_msgs.ACUAllData` on topic `ACU_data`.

Frames: body x forward, y left, z up; yaw is a compass heading in degrees (0 = north,
clockwise); `vn_vel` is the body-frame velocity, so |(vn_vel.x, vn_vel.y)| is the speed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pitwall.synth.schemas import EnumDef, FieldDef, MessageDef, ProtoFile
from pitwall.synth.signals import Column, Ctx, Presence, RowLists, Strings
from pitwall.synth.track import LAUNCH_AFTER_S
from pitwall.synth.vehicle import (
    CAR_STATES,
    CELL_THERMISTORS,
    CELLS_IN_SERIES,
    GPS_FIX_AFTER_S,
    WHEELS,
)

Generate = Callable[[Ctx], dict[str, Column]]


def _f(
    *specs: tuple[str, str] | tuple[str, str, bool] | tuple[str, str, bool, bool],
) -> tuple[FieldDef, ...]:
    """Fields numbered in order: (name, type[, repeated[, packed]])."""
    out = []
    for number, spec in enumerate(specs, start=1):
        name, typ = spec[0], spec[1]
        repeated = bool(spec[2]) if len(spec) > 2 else False
        packed = bool(spec[3]) if len(spec) > 3 else True
        out.append(FieldDef(name, typ, number, repeated, packed))
    return tuple(out)


TYPES_FILE = ProtoFile(
    "hytech_types.proto",
    "hytech_types",
    [
        MessageDef("xyz_vec", _f(("x", "float"), ("y", "float"), ("z", "float"))),
        MessageDef("xyz_vec_d", _f(("x", "double"), ("y", "double"), ("z", "double"))),
        MessageDef("ypr_vec", _f(("yaw", "float"), ("pitch", "float"), ("roll", "float"))),
        MessageDef("veh_vec", _f(*((w, "float") for w in WHEELS))),
        MessageDef("veh_vec_i", _f(*((w, "sint32") for w in WHEELS))),
        MessageDef("gps_pos", _f(("lat", "double"), ("lon", "double"), ("altitude", "float"))),
    ],
)

ENUMS = [
    EnumDef("car_state_e", tuple(f"CAR_STATE_{s}" for s in CAR_STATES)),
    EnumDef(
        "drivetrain_state_e",
        (
            "DRIVETRAIN_NOT_CONNECTED",
            "DRIVETRAIN_NOT_ENABLED_NO_HV",
            "DRIVETRAIN_NOT_ENABLED_HV",
            "DRIVETRAIN_ENABLING",
            "DRIVETRAIN_ENABLED",
        ),
    ),
    EnumDef(
        "gps_status_e",
        (
            "GPS_STATUS_NO_FIX",
            "GPS_STATUS_TIME_ONLY",
            "GPS_STATUS_FIX_2D",
            "GPS_STATUS_FIX_3D",
            "GPS_STATUS_RTK",
        ),
    ),
    EnumDef(
        "torque_mode_e",
        ("TORQUE_MODE_LIMP", "TORQUE_MODE_LOW", "TORQUE_MODE_MID", "TORQUE_MODE_FULL"),
    ),
    EnumDef(
        "controller_mode_e",
        (
            "CONTROLLER_MODE_SIMPLE",
            "CONTROLLER_MODE_LOAD_CELL_TV",
            "CONTROLLER_MODE_PID_TV",
            "CONTROLLER_MODE_LAUNCH",
        ),
    ),
    EnumDef("launch_state_e", ("LAUNCH_NOT_READY", "LAUNCH_READY", "LAUNCH_ACTIVE", "LAUNCH_DONE")),
    EnumDef(
        "acu_state_e",
        ("ACU_STATE_IDLE", "ACU_STATE_ACTIVE", "ACU_STATE_BALANCING", "ACU_STATE_FAULT"),
    ),
    EnumDef(
        "display_page_e",
        ("DISPLAY_PAGE_OFF", "DISPLAY_PAGE_SPEED", "DISPLAY_PAGE_LAP", "DISPLAY_PAGE_TEMPS"),
    ),
]


@dataclass(frozen=True, slots=True)
class NestedTopic:
    topic: str
    message: MessageDef
    rate_hz: float
    generate: Generate


# --- helpers --------------------------------------------------------------------------


def _vec(prefix: str, names: tuple[str, ...], values: list[np.ndarray]) -> dict[str, Column]:
    return {f"{prefix}.{n}": v for n, v in zip(names, values, strict=True)}


def _xyz(prefix: str, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> dict[str, Column]:
    return _vec(prefix, ("x", "y", "z"), [x, y, z])


def _wheels(prefix: str, m: np.ndarray) -> dict[str, Column]:
    return _vec(prefix, WHEELS, [m[:, k] for k in range(4)])


def _sensor(c: Ctx, name: str, sigma: float) -> np.ndarray:
    base = c.st(name)
    return base + c.noise(sigma, base.shape)


_SIGN = np.array([1.0, -1.0, 1.0, -1.0])  # right-side motors turn the other way


# --- generators -----------------------------------------------------------------------


def _vn(c: Ctx) -> dict[str, Column]:
    g = 9.81
    fix = c.t >= _gps_fix_after(c)
    # A slow, centimetre-level INS position drift, not white noise: the speed derived from
    # successive positions stays smooth as it does on the real unit.
    drift_e, drift_n = c.wander(0.05, 30.0), c.wander(0.05, 30.0)
    lat, lon = c.vehicle.drive.track.to_lat_lon(c.st("x") + drift_e, c.st("y") + drift_n)
    yaw = c.st("yaw_deg") + c.noise(0.05)
    yaw = (yaw + 180.0) % 360.0 - 180.0
    out: dict[str, Column] = {}
    out |= _xyz("vn_vel", _sensor(c, "vx", 0.02), _sensor(c, "vy", 0.02), c.noise(0.01))
    out |= _xyz("vn_linear_accel", _sensor(c, "ax", 0.05), _sensor(c, "ay", 0.05), c.noise(0.05))
    out |= _xyz(
        "vn_linear_accel_uncomp", _sensor(c, "ax", 0.08), _sensor(c, "ay", 0.08), g + c.noise(0.08)
    )
    out |= _vec(
        "vn_ypr",
        ("yaw", "pitch", "roll"),
        [yaw, _sensor(c, "pitch_deg", 0.02), _sensor(c, "roll_deg", 0.02)],
    )
    out |= _xyz(
        "vn_angular_rate",
        _sensor(c, "roll_rate", 0.002),
        _sensor(c, "pitch_rate", 0.002),
        _sensor(c, "yaw_rate", 0.002),
    )
    out["vn_gps"] = Presence(fix)
    out |= {
        "vn_gps.lat": lat,
        "vn_gps.lon": lon,
        "vn_gps.altitude": c.st("alt") + c.wander(0.1, 40.0),
    }
    # ECEF from geodetic (spherical Earth is close enough for a synthetic position).
    r = 6_371_000.0 + c.st("alt")
    la, lo = np.radians(lat), np.radians(lon)
    out |= _xyz(
        "vn_ecef_pos", r * np.cos(la) * np.cos(lo), r * np.cos(la) * np.sin(lo), r * np.sin(la)
    )
    out["vn_gps_status"] = np.where(fix, 3, 0)
    out["vn_ins_status"] = np.where(fix, 0x0202, 0x0001)
    out["vn_position_uncertainty"] = np.where(fix, 0.35 + c.wander(0.05), 0.0)
    out["vn_gps_time_ns"] = np.where(fix, _gps_ns(c), 0).astype(np.uint64)
    return out


def _gps_fix_after(c: Ctx) -> float:
    # A run may have no fix at all (write_synth(gps=False)).
    return float(c.info.get("gps_fix_after_s", GPS_FIX_AFTER_S))


def _gps_ns(c: Ctx) -> np.ndarray:
    since = c.start_ns - 315_964_800 * 10**9 + 18 * 10**9
    return np.int64(since) + np.round(c.t * 1e9).astype(np.int64)


def _imu(bias: float) -> Generate:
    def gen(c: Ctx) -> dict[str, Column]:
        vib = c.noise(0.25 + bias)  # chassis vibration
        out: dict[str, Column] = {}
        out |= _xyz("accel", _sensor(c, "ax", 0.15) + bias, _sensor(c, "ay", 0.15), 9.81 + vib)
        out |= _xyz(
            "gyro",
            _sensor(c, "roll_rate", 0.01),
            _sensor(c, "pitch_rate", 0.01),
            _sensor(c, "yaw_rate", 0.01) + bias * 0.01,
        )
        out["temperature"] = c.st("ambient") + 11.0 + c.wander(0.5)
        out["sample_counter"] = np.arange(c.n) & 0xFFFFFFFF
        return out

    return gen


def _wheel_speed(c: Ctx) -> dict[str, Column]:
    rpm = c.st("wheel_rpm")
    # Hall-effect pulse counts: 24 teeth per turn; cumulative, wraps at sint32.
    dt = np.diff(c.t, prepend=c.t[0])
    ticks = np.cumsum(rpm / 60.0 * 24.0 * dt[:, None], axis=0)
    return {
        **_wheels("wheel_rpm", rpm + c.noise(0.3, rpm.shape)),
        **_wheels("tick_count", np.mod(ticks, 2**31)),
        "valid": c.t >= 0.05,
    }


def _drivetrain(c: Ctx) -> dict[str, Column]:
    rpm = c.st("motor_rpm") * _SIGN
    torque = c.st("motor_torque")
    v = c.st("pack_voltage")
    return {
        **_wheels("motor_rpm", rpm + c.noise(2.0, rpm.shape)),
        **_wheels("actual_torque_nm", torque + c.noise(0.03, torque.shape)),
        **_wheels("dc_bus_voltage", v[:, None] + c.noise(0.3, torque.shape)),
        **_wheels("motor_power_w", c.st("motor_power") + c.noise(5.0, torque.shape)),
        "status_word": np.where(c.st("car_state") >= 3, 0x0000_C703, 0x0000_0100),
    }


def _mcu_output(c: Ctx) -> dict[str, Column]:
    torque = c.st("motor_torque")
    n = c.n
    return {
        **_wheels("torque_setpoint_nm", torque * 1.02),
        **_wheels("speed_setpoint_rpm", c.st("motor_rpm") * _SIGN * 1.05),
        **_wheels("positive_torque_limit", np.full((n, 4), 21.0)),
        **_wheels("negative_torque_limit", np.full((n, 4), -10.0)),
        "accel_percent": np.clip(c.st("throttle") * 100.0 + c.noise(0.2), 0, 100),
        "brake_percent": np.clip(c.st("brake") * 100.0 + c.noise(0.2), 0, 100),
        "steering_angle_deg": _sensor(c, "steer_deg", 0.05),
        "torque_mode": np.full(n, 3),
    }


def _vcr_status(c: Ctx) -> dict[str, Column]:
    state = c.st("car_state")
    drivetrain = np.clip(state - 1, 0, 4)
    return {
        "car_state": state,
        "drivetrain_state": drivetrain,
        "firmware_version": Strings([c.info["firmware"]], np.zeros(c.n, dtype=np.int64)),
        "git_hash": Strings([c.info["git_hash"]], np.zeros(c.n, dtype=np.int64)),
        "uptime_ms": np.round(c.t * 1000.0) + 734_512,
        "loop_overruns": np.cumsum(c.rng.random(c.n) < 0.0005),
        "buzzer_active": (c.t > 1.5) & (c.t < LAUNCH_AFTER_S),
        "shutdown_ok": state >= 1,
    }


def _suspension(c: Ctx) -> dict[str, Column]:
    travel = c.st("susp_travel")
    return {
        **_wheels("shock_pot_mm", travel + c.noise(0.1, travel.shape)),
        **_wheels("load_cell_n", c.st("normal_load") + c.noise(6.0, travel.shape)),
        "ride_height_front_mm": 45.0 - travel[:, :2].mean(axis=1) + 12.0 + c.noise(0.2),
        "ride_height_rear_mm": 50.0 - travel[:, 2:].mean(axis=1) + 12.0 + c.noise(0.2),
    }


def _steering(c: Ctx) -> dict[str, Column]:
    deg = c.st("steer_deg")
    return {
        "steering_wheel_deg": deg + c.noise(0.05),
        "steering_rate_dps": np.gradient(deg, c.t) if c.n > 1 else np.zeros(c.n),
        "encoder_raw": np.round(deg * 45.5),  # sint32 counts, negative turning right
        "analog_raw": 2048.0 + deg * 11.0 + c.noise(2.0),
        "implausible": np.zeros(c.n, dtype=bool),
    }


def _pedals(c: Ctx) -> dict[str, Column]:
    thr, brk = c.st("throttle"), c.st("brake")
    return {
        "accel_1_raw": 820 + 2280 * thr + c.noise(4.0),
        "accel_2_raw": 3200 - 2300 * thr + c.noise(4.0),
        "brake_1_raw": 1100 + 1500 * brk + c.noise(4.0),
        "brake_2_raw": 2900 - 1500 * brk + c.noise(4.0),
        "accel_percent": np.clip(thr * 100.0 + c.noise(0.2), 0, 100),
        "brake_percent": np.clip(brk * 100.0 + c.noise(0.2), 0, 100),
        "brake_pressure_front_bar": np.clip(_sensor(c, "brake_pressure_front", 0.1), 0, None),
        "brake_pressure_rear_bar": np.clip(_sensor(c, "brake_pressure_rear", 0.1), 0, None),
        "implausibility": np.zeros(c.n, dtype=bool),
        "brake_active": brk > 0.05,
    }


def _state_estimate(c: Ctx) -> dict[str, Column]:
    load = c.st("normal_load")
    return {
        **_xyz("velocity", _sensor(c, "vx", 0.03), _sensor(c, "vy", 0.03), np.zeros(c.n)),
        "yaw_rate": _sensor(c, "yaw_rate", 0.003),
        "sideslip_deg": np.degrees(c.st("beta")) + c.noise(0.05),
        **_wheels("slip_ratio", c.st("slip") + c.noise(0.002, load.shape)),
        **_wheels("normal_load_n", load + c.noise(5.0, load.shape)),
        **_wheels("tire_force_x", c.st("wheel_force") + c.noise(5.0, load.shape)),
        "est_valid": c.t >= _gps_fix_after(c),
    }


def _torque_controller(c: Ctx) -> dict[str, Column]:
    torque = c.st("motor_torque")
    phase = np.where(
        c.t < 1.5, 0, np.where(c.t < LAUNCH_AFTER_S, 1, np.where(c.t < LAUNCH_AFTER_S + 2.5, 2, 3))
    )
    return {
        **_wheels("torque_request", torque),
        **_wheels("torque_limit", np.full(torque.shape, 21.0)),
        "yaw_moment_request_nm": c.st("yaw_rate") * 180.0 + c.noise(1.0),
        "controller_mode": np.where(phase == 2, 3, 2),
        "tc_active": np.abs(c.st("slip")).max(axis=1) > 0.05,
        "launch_state": phase,
    }


def _power_limit(c: Ctx) -> dict[str, Column]:
    p = c.st("power") / 1000.0
    return {
        "power_limit_kw": np.full(c.n, 80.0),
        "power_measured_kw": p + c.noise(0.05),
        "derate_factor": np.clip(1.0 - (c.st("motor_temp").max(axis=1) - 90.0) / 40.0, 0.2, 1.0),
        "energy_used_wh": np.cumsum(p * 1000.0 * np.diff(c.t, prepend=c.t[0])) / 3600.0,
        "limit_active": p > 80.0,
    }


def _thermal(c: Ctx) -> dict[str, Column]:
    cool = c.st("coolant_temp")
    return {
        "coolant_temp_in": cool + c.noise(0.1),
        "coolant_temp_out": cool + 2.5 + c.noise(0.1),
        "pump_duty": np.clip((cool - 20.0) * 3.0, 30, 100),
        "fan_duty": np.clip((cool - 35.0) * 5.0, 0, 100),
        **_wheels("motor_temp", c.st("motor_temp") + c.noise(0.1, (c.n, 4))),
        **_wheels("inverter_temp", c.st("inverter_temp") + c.noise(0.1, (c.n, 4))),
    }


# A constant beyond the int64 range (top bit set): decoders must keep uint64 unsigned.
ENERGY_METER_SERIAL = 0xE3A1_5C20_0042_9B17


def _energy_meter(c: Ctx) -> dict[str, Column]:
    v, i = c.st("pack_voltage"), c.st("pack_current")
    dt = np.diff(c.t, prepend=c.t[0])
    energy = np.cumsum(v * i * dt)
    charge_uc = np.cumsum(np.abs(i) * dt * 1e6)
    return {
        "voltage": v + c.noise(0.05),
        "current": i + c.noise(0.05),
        "power_w": v * i,
        "energy_j": np.round(energy),
        "serial_number": np.full(c.n, ENERGY_METER_SERIAL, dtype=np.uint64),
        # A counter that started high: large unsigned values with 10-byte varints.
        "charge_counter_uc": (np.uint64(1 << 63) + np.round(charge_uc).astype(np.uint64)),
    }


def _tire_temps(c: Ctx) -> dict[str, Column]:
    load = c.st("normal_load")
    out: dict[str, Column] = {}
    for k, w in enumerate(WHEELS):
        # 8 IR channels across the tread, hotter in the middle and with load.
        profile = 4.0 - 0.35 * (np.arange(8) - 3.5) ** 2
        base = c.st("ambient") + 20.0 + 0.01 * load[:, k]
        out[f"temps_{w.lower()}"] = base[:, None] + profile[None, :] + c.noise(0.3, (c.n, 8))
    out["sensor_ok"] = np.ones(c.n, dtype=bool)
    return out


def _brakes(c: Ctx) -> dict[str, Column]:
    f, r = c.st("brake_pressure_front"), c.st("brake_pressure_rear")
    total = f + r
    return {
        "pressure_front_bar": np.clip(f + c.noise(0.1), 0, None),
        "pressure_rear_bar": np.clip(r + c.noise(0.1), 0, None),
        **_wheels("rotor_temp", c.st("rotor_temp") + c.noise(0.5, (c.n, 4))),
        "bias_front_pct": np.where(total > 0.5, 100.0 * f / np.maximum(total, 1e-9), 0.0),
        "brake_switch": c.st("brake") > 0.05,
    }


def _aero(c: Ctx) -> dict[str, Column]:
    q = 0.5 * 1.2 * c.st("speed") ** 2
    coeff = np.linspace(-1.8, 0.4, 12)
    return {
        "pressure_taps_pa": q[:, None] * coeff[None, :] + c.noise(1.5, (c.n, 12)),
        "downforce_est_n": c.st("downforce") + c.noise(2.0),
        "pitot_speed_mps": np.clip(c.st("speed") + c.noise(0.15), 0, None),
        "yaw_sensor_deg": np.degrees(c.st("beta")) + c.noise(0.3),
    }


def _logger(c: Ctx) -> dict[str, Column]:
    written = np.cumsum(np.full(c.n, 3_400.0 * 130.0 / 100.0))
    return {
        "uptime_ns": (np.uint64(c.start_ns % 10**12) + np.round(c.t * 1e9).astype(np.uint64)),
        "buffer_fill_pct": np.clip(12.0 + c.wander(6.0, 5.0) + c.noise(1.0), 0, 100),
        "bytes_written": np.round(written),
        "dropped_messages": np.zeros(c.n),
        "sd_ok": np.ones(c.n, dtype=bool),
        "active_file_index": np.full(c.n, 17),
    }


def _dashboard(c: Ctx) -> dict[str, Column]:
    crossings = np.array(c.vehicle.drive.lap_crossings_s)
    done = np.searchsorted(crossings, c.t, side="right")
    marks = np.concatenate(([LAUNCH_AFTER_S], crossings))
    lap_start = marks[np.minimum(done, marks.size - 1)]
    lap_time = np.where(c.t > LAUNCH_AFTER_S, c.t - lap_start, 0.0)
    delta = (
        lap_time
        - c.vehicle.drive.lap_time_s
        * np.mod(c.st("s"), c.vehicle.drive.track.length_m)
        / c.vehicle.drive.track.length_m
    ) * 1000.0
    # A message the pit wall sends, shown for a while; mostly nothing (empty string).
    texts = ["", "PUSH", "BOX THIS LAP", "COOL DOWN"]
    codes = np.where(np.mod(c.t, 45.0) < 6.0, 1 + (np.floor(c.t / 45.0).astype(np.int64) % 3), 0)
    return {
        "lap_number": done + 1,
        "lap_time_ms": np.round(lap_time * 1000.0),
        "delta_ms": np.where(c.t > LAUNCH_AFTER_S, np.round(delta), 0),  # sint32, often negative
        "display_page": np.where(c.st("car_state") >= 5, 1, 0),
        "buttons": np.zeros(c.n),
        "message": Strings(texts, codes.astype(np.int64)),
    }


def _acu(c: Ctx) -> dict[str, Column]:
    n = c.n
    cell = c.st("cell_voltage")
    # Each cell has its own offset (manufacturing spread) plus measurement noise.
    spread = np.random.default_rng(7).normal(0.0, 0.006, CELLS_IN_SERIES)
    volts = cell[:, None] + spread[None, :] + c.noise(0.001, (n, CELLS_IN_SERIES))
    tspread = np.random.default_rng(8).normal(0.0, 1.2, CELL_THERMISTORS)
    temps = c.st("pack_temp")[:, None] + tspread[None, :] + c.noise(0.1, (n, CELL_THERMISTORS))
    # Cells above the balancing threshold are bled: a list of cell indices whose length
    # changes from message to message (often empty).
    threshold = cell + 0.009
    balancing = volts > threshold[:, None]
    counts = balancing.sum(axis=1).astype(np.int64)
    flat = np.nonzero(balancing)[1].astype(np.uint32)
    return {
        "cell_voltages": volts,
        "cell_temperatures": temps,
        "pack_voltage": volts.sum(axis=1),
        "min_cell_voltage": volts.min(axis=1),
        "max_cell_voltage": volts.max(axis=1),
        "soc": c.st("soc") * 100.0,
        "current": c.st("pack_current") + c.noise(0.05),
        "max_cell_temp": temps.max(axis=1),
        "acu_state": np.where(counts > 0, 2, np.where(c.st("car_state") >= 2, 1, 0)),
        "balancing_cells": RowLists(flat, counts),
        "measure_counter": np.arange(n),
    }


# --- the message table ----------------------------------------------------------------

V3, V3D, YPR, VV, VVI, GPS = "xyz_vec", "xyz_vec_d", "ypr_vec", "veh_vec", "veh_vec_i", "gps_pos"

_TABLE: list[tuple[str, str, float, tuple[FieldDef, ...], Generate]] = [
    (
        "VNData",
        "VNData",
        200,
        _f(
            ("vn_vel", V3),
            ("vn_linear_accel", V3),
            ("vn_linear_accel_uncomp", V3),
            ("vn_ypr", YPR),
            ("vn_angular_rate", V3),
            ("vn_gps", GPS),
            ("vn_ecef_pos", V3D),
            ("vn_gps_status", "gps_status_e"),
            ("vn_ins_status", "uint32"),
            ("vn_position_uncertainty", "float"),
            ("vn_gps_time_ns", "uint64"),
        ),
        _vn,
    ),
    (
        "IMUData",
        "IMUData",
        400,
        _f(("accel", V3), ("gyro", V3), ("temperature", "float"), ("sample_counter", "fixed32")),
        _imu(0.0),
    ),
    (
        "RearIMUData",
        "RearIMUData",
        200,
        _f(("accel", V3), ("gyro", V3), ("temperature", "float"), ("sample_counter", "fixed32")),
        _imu(0.02),
    ),
    (
        "WheelSpeedData",
        "WheelSpeedData",
        200,
        _f(("wheel_rpm", VV), ("tick_count", VVI), ("valid", "bool")),
        _wheel_speed,
    ),
    (
        "DrivetrainData",
        "DrivetrainData",
        200,
        _f(
            ("motor_rpm", VVI),
            ("actual_torque_nm", VV),
            ("dc_bus_voltage", VV),
            ("motor_power_w", VV),
            ("status_word", "fixed32"),
        ),
        _drivetrain,
    ),
    (
        "MCUOutputData",
        "MCUOutputData",
        100,
        _f(
            ("torque_setpoint_nm", VV),
            ("speed_setpoint_rpm", VV),
            ("positive_torque_limit", VV),
            ("negative_torque_limit", VV),
            ("accel_percent", "float"),
            ("brake_percent", "float"),
            ("steering_angle_deg", "float"),
            ("torque_mode", "torque_mode_e"),
        ),
        _mcu_output,
    ),
    (
        "VCRStatus",
        "VCRStatus",
        100,
        _f(
            ("car_state", "car_state_e"),
            ("drivetrain_state", "drivetrain_state_e"),
            ("firmware_version", "string"),
            ("git_hash", "string"),
            ("uptime_ms", "uint64"),
            ("loop_overruns", "uint32"),
            ("buzzer_active", "bool"),
            ("shutdown_ok", "bool"),
        ),
        _vcr_status,
    ),
    (
        "SuspensionData",
        "SuspensionData",
        100,
        _f(
            ("shock_pot_mm", VV),
            ("load_cell_n", VV),
            ("ride_height_front_mm", "float"),
            ("ride_height_rear_mm", "float"),
        ),
        _suspension,
    ),
    (
        "SteeringData",
        "SteeringData",
        100,
        _f(
            ("steering_wheel_deg", "float"),
            ("steering_rate_dps", "float"),
            ("encoder_raw", "sint32"),
            ("analog_raw", "uint32"),
            ("implausible", "bool"),
        ),
        _steering,
    ),
    (
        "PedalsData",
        "PedalsData",
        200,
        _f(
            ("accel_1_raw", "uint32"),
            ("accel_2_raw", "uint32"),
            ("brake_1_raw", "uint32"),
            ("brake_2_raw", "uint32"),
            ("accel_percent", "float"),
            ("brake_percent", "float"),
            ("brake_pressure_front_bar", "float"),
            ("brake_pressure_rear_bar", "float"),
            ("implausibility", "bool"),
            ("brake_active", "bool"),
        ),
        _pedals,
    ),
    (
        "VehicleStateEstimate",
        "VehicleStateEstimate",
        100,
        _f(
            ("velocity", V3),
            ("yaw_rate", "double"),
            ("sideslip_deg", "float"),
            ("slip_ratio", VV),
            ("normal_load_n", VV),
            ("tire_force_x", VV),
            ("est_valid", "bool"),
        ),
        _state_estimate,
    ),
    (
        "TorqueControllerData",
        "TorqueControllerData",
        100,
        _f(
            ("torque_request", VV),
            ("torque_limit", VV),
            ("yaw_moment_request_nm", "float"),
            ("controller_mode", "controller_mode_e"),
            ("tc_active", "bool"),
            ("launch_state", "launch_state_e"),
        ),
        _torque_controller,
    ),
    (
        "PowerLimitData",
        "PowerLimitData",
        100,
        _f(
            ("power_limit_kw", "float"),
            ("power_measured_kw", "float"),
            ("derate_factor", "float"),
            ("energy_used_wh", "double"),
            ("limit_active", "bool"),
        ),
        _power_limit,
    ),
    (
        "ThermalData",
        "ThermalData",
        100,
        _f(
            ("coolant_temp_in", "float"),
            ("coolant_temp_out", "float"),
            ("pump_duty", "float"),
            ("fan_duty", "float"),
            ("motor_temp", VV),
            ("inverter_temp", VV),
        ),
        _thermal,
    ),
    (
        "EnergyMeterData",
        "EnergyMeterData",
        100,
        _f(
            ("voltage", "double"),
            ("current", "double"),
            ("power_w", "double"),
            ("energy_j", "int64"),
            ("serial_number", "fixed64"),
            ("charge_counter_uc", "uint64"),
        ),
        _energy_meter,
    ),
    (
        "TireTempData",
        "TireTempData",
        100,
        _f(
            *((f"temps_{w.lower()}", "float", True, False) for w in WHEELS),
            ("sensor_ok", "bool"),
        ),
        _tire_temps,
    ),
    (
        "BrakeData",
        "BrakeData",
        100,
        _f(
            ("pressure_front_bar", "float"),
            ("pressure_rear_bar", "float"),
            ("rotor_temp", VV),
            ("bias_front_pct", "float"),
            ("brake_switch", "bool"),
        ),
        _brakes,
    ),
    (
        "AeroData",
        "AeroData",
        100,
        _f(
            ("pressure_taps_pa", "float", True),
            ("downforce_est_n", "float"),
            ("pitot_speed_mps", "float"),
            ("yaw_sensor_deg", "float"),
        ),
        _aero,
    ),
    (
        "LoggerStatus",
        "LoggerStatus",
        100,
        _f(
            ("uptime_ns", "uint64"),
            ("buffer_fill_pct", "float"),
            ("bytes_written", "int64"),
            ("dropped_messages", "uint32"),
            ("sd_ok", "bool"),
            ("active_file_index", "uint32"),
        ),
        _logger,
    ),
    (
        "DashboardData",
        "DashboardData",
        100,
        _f(
            ("lap_number", "uint32"),
            ("lap_time_ms", "uint32"),
            ("delta_ms", "sint32"),
            ("display_page", "display_page_e"),
            ("buttons", "uint32"),
            ("message", "string"),
        ),
        _dashboard,
    ),
    (
        "ACU_data",
        "ACUAllData",
        10,
        _f(
            ("cell_voltages", "float", True),
            ("cell_temperatures", "float", True),
            ("pack_voltage", "float"),
            ("min_cell_voltage", "float"),
            ("max_cell_voltage", "float"),
            ("soc", "float"),
            ("current", "float"),
            ("max_cell_temp", "float"),
            ("acu_state", "acu_state_e"),
            ("balancing_cells", "uint32", True),
            ("measure_counter", "uint64"),
        ),
        _acu,
    ),
]


def nested_topics() -> list[NestedTopic]:
    return [
        NestedTopic(topic, MessageDef(name, fields), rate, gen)
        for topic, name, rate, fields, gen in _TABLE
    ]


def nested_file(topics: list[NestedTopic]) -> ProtoFile:
    return ProtoFile(
        "hytech_msgs.proto", "hytech_msgs", [t.message for t in topics], list(ENUMS), [TYPES_FILE]
    )
