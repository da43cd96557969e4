"""The car's physical state over the whole recording, on one time grid.

Derived from the drive (distance and speed over time) with simple, consistent vehicle
physics: body accelerations and rates, GPS position, per-wheel speeds from the ground
speed plus yaw and longitudinal slip, motor torques from the force needed to follow the
speed profile, battery power, state of charge and voltage sag, temperatures as
first-order lags of their losses. Topics sample this state at their own rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pitwall.synth.track import GRAVITY, LAUNCH_AFTER_S, Drive

# The car (numbers of a typical FSAE electric car; they are stated so tests can use them).
# 16-inch tyre: wheel rpm * 2*pi*R / 60 = ground speed. The simulated car's own value, not
# settings.DEFAULT_WHEEL_RADIUS_M: it is the truth the wheel speeds are generated from, so a
# test of the compare's rpm -> distance checks against it independently of the setting.
# Equal to the default on purpose (the dev stack compares simulated runs with the default).
WHEEL_RADIUS_M = 0.2032
GEAR_RATIO = 11.86  # motor rpm / wheel rpm (hub motors with planetary reduction)
MASS_KG = 280.0  # car with driver
WHEELBASE_M = 1.535
TRACK_WIDTH_M = 1.20
CG_TO_FRONT_M = 0.80
CG_HEIGHT_M = 0.28
CDA = 1.1  # drag area, m^2
CLA = 2.6  # downforce area, m^2
AIR_DENSITY = 1.2
ROLLING_RESISTANCE = 0.015
STEERING_RATIO = 4.5
CELLS_IN_SERIES = 126
CELL_THERMISTORS = 48
PACK_CAPACITY_WH = 6300.0
PACK_RESISTANCE_OHM = 0.18
MOTOR_TORQUE_LIMIT_NM = 21.0
REGEN_TORQUE_LIMIT_NM = 5.0
DRIVE_EFFICIENCY = 0.92
ACCESSORY_POWER_W = 450.0

GRID_HZ = 200.0
GPS_FIX_AFTER_S = 1.0  # before this the GPS has no fix: VNData carries no vn_gps block

# Wheel order everywhere: FL, FR, RL, RR; their lateral positions (body frame, y left).
WHEELS = ("FL", "FR", "RL", "RR")
_WHEEL_Y = np.array([TRACK_WIDTH_M / 2, -TRACK_WIDTH_M / 2, TRACK_WIDTH_M / 2, -TRACK_WIDTH_M / 2])

# The car's state machine (main control unit) over the power-up, seconds after start.
CAR_STATES = (
    "STARTUP",
    "TRACTIVE_SYSTEM_NOT_ACTIVE",
    "TRACTIVE_SYSTEM_ACTIVE",
    "ENABLING_INVERTERS",
    "WAITING_READY_TO_DRIVE_SOUND",
    "READY_TO_DRIVE",
)
_STATE_TIMES = (0.0, 0.3, 0.8, 1.2, 1.5, LAUNCH_AFTER_S)


def car_state_at(t: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    return (np.searchsorted(np.array(_STATE_TIMES), t, side="right") - 1).astype(np.int32)


@dataclass(frozen=True, slots=True)
class VehicleState:
    """Named signals on `t` (seconds since start); per-wheel ones are G x 4."""

    t: npt.NDArray[np.float64]
    signals: dict[str, npt.NDArray[np.float64]]
    drive: Drive

    def at(self, name: str, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        values = self.signals[name]
        if values.ndim == 1:
            return np.interp(t, self.t, values)
        return np.stack(
            [np.interp(t, self.t, values[:, k]) for k in range(values.shape[1])], axis=1
        )


def simulate(drive: Drive, duration_s: float, rng: np.random.Generator) -> VehicleState:
    track = drive.track
    t = np.arange(0.0, duration_s + 1.0, 1.0 / GRID_HZ)
    sig: dict[str, npt.NDArray[np.float64]] = {}
    s = drive.distance(t)
    v = drive.speed(t)
    moving = v > 0.05
    ax = np.gradient(v, t)
    kappa = np.where(moving, track.sample("curvature", s), 0.0)
    ay = v * v * kappa
    yaw_rate = v * kappa
    course = np.unwrap(track.sample("heading", s))
    beta = -0.004 * ay  # sideslip, rad: the rear steps out a little in corners
    yaw = course - beta
    roll = 0.0022 * ay  # rad, body rolls out of the corner
    pitch = -0.0015 * ax  # rad, nose dives under braking
    x, y = track.sample("x", s), track.sample("y", s)
    lat, lon = track.to_lat_lon(x, y)
    sig.update(
        s=s,
        lap_distance=np.mod(s, track.length_m),
        lap=np.floor(s / track.length_m),
        speed=v,
        ax=ax,
        ay=ay,
        yaw_rate=yaw_rate,
        yaw_deg=(90.0 - np.degrees(yaw) + 180.0) % 360.0 - 180.0,  # compass: 0 = north, clockwise
        pitch_deg=np.degrees(pitch),
        roll_deg=np.degrees(roll),
        roll_rate=np.gradient(roll, t),
        pitch_rate=np.gradient(pitch, t),
        beta=beta,
        vx=v * np.cos(beta),
        vy=v * np.sin(beta),
        v_east=v * np.cos(course),
        v_north=v * np.sin(course),
        x=x,
        y=y,
        lat=lat,
        lon=lon,
        alt=track.sample("altitude", s),
        steer_deg=np.degrees(np.arctan(WHEELBASE_M * kappa) + 0.002 * ay) * STEERING_RATIO,
    )

    # Forces and loads.
    drag = 0.5 * AIR_DENSITY * CDA * v * v
    downforce = 0.5 * AIR_DENSITY * CLA * v * v
    f_x = np.where(moving, MASS_KG * ax + drag + ROLLING_RESISTANCE * MASS_KG * GRAVITY, 0.0)
    static = (MASS_KG * GRAVITY + downforce)[:, None] * np.array([0.23, 0.23, 0.27, 0.27])[None, :]
    long_transfer = (MASS_KG * ax * CG_HEIGHT_M / WHEELBASE_M / 2)[:, None] * np.array(
        [-1, -1, 1, 1]
    )
    lat_transfer = (MASS_KG * ay * CG_HEIGHT_M / TRACK_WIDTH_M / 2)[:, None] * np.array(
        [-1, 1, -1, 1]
    )
    normal = np.maximum(static + long_transfer + lat_transfer, 50.0)
    # Drive 40/60 front/rear with torque vectoring towards the outside; regen up to the
    # motors' limit, the friction brakes take the rest.
    split = np.array([0.2, 0.2, 0.3, 0.3])
    tv = (0.04 * yaw_rate)[:, None] * np.array([-1, 1, -1, 1])
    drive_force = np.clip(f_x, 0, None)[:, None] * (split[None, :] + tv)
    regen_max = 4 * REGEN_TORQUE_LIMIT_NM * GEAR_RATIO / WHEEL_RADIUS_M
    regen = np.maximum(np.clip(f_x, None, 0), -regen_max)
    friction = np.clip(f_x, None, 0) - regen  # <= 0
    wheel_force = drive_force + regen[:, None] * np.array([0.3, 0.3, 0.2, 0.2])
    motor_torque = wheel_force * WHEEL_RADIUS_M / GEAR_RATIO
    # Longitudinal slip: tyre stiffness ~30 x load per unit slip.
    slip = np.clip(wheel_force / (30.0 * normal), -0.05, 0.06)
    ground = sig["vx"][:, None] - yaw_rate[:, None] * _WHEEL_Y[None, :]
    wheel_rpm = np.maximum(ground, 0.0) * (1 + slip) / (2 * math.pi * WHEEL_RADIUS_M) * 60.0
    motor_rpm = wheel_rpm * GEAR_RATIO
    motor_power = motor_torque * motor_rpm * 2 * math.pi / 60.0
    mech = motor_power.sum(axis=1)
    elec = np.where(mech > 0, mech / DRIVE_EFFICIENCY, mech * DRIVE_EFFICIENCY) + ACCESSORY_POWER_W
    sig.update(
        f_x=f_x,
        throttle=np.clip(f_x / 1800.0, 0, 1),
        # bar: 65 % of the friction braking on the front axle
        brake_pressure_front=np.clip(-friction, 0, None) * 0.65 / 40.0,
        brake_pressure_rear=np.clip(-friction, 0, None) * 0.35 / 40.0,
        normal_load=normal,
        slip=slip,
        wheel_rpm=wheel_rpm,
        motor_rpm=motor_rpm,
        motor_torque=motor_torque,
        motor_power=motor_power,
        wheel_force=wheel_force,
        downforce=downforce,
        susp_travel=(normal - static.mean(axis=1, keepdims=True)) / 30000.0 * 1000.0 + 12.0,
    )
    # The pedal asks for the whole deceleration; regen takes its share first.
    sig["brake"] = np.clip(-np.clip(f_x, None, 0) / 2500.0, 0, 1)

    # Battery: energy drawn sets the state of charge; current from power and voltage.
    dt = 1.0 / GRID_HZ
    soc0 = float(rng.uniform(0.82, 0.97))
    soc = soc0 - np.cumsum(elec) * dt / 3600.0 / PACK_CAPACITY_WH
    ocv_cell = 3.45 + 0.75 * soc
    v_oc = CELLS_IN_SERIES * ocv_cell
    current = elec / v_oc
    v_pack = v_oc - current * PACK_RESISTANCE_OHM
    sig.update(
        soc=soc,
        pack_current=current,
        regen_current=np.clip(-current, 0, None),
        discharge_current=np.clip(current, 0, None),
        pack_voltage=v_pack,
        cell_voltage=v_pack / CELLS_IN_SERIES,
        power=elec,
    )

    # Temperatures: first-order lags, integrated on a 1 s grid (they change slowly).
    ambient = float(rng.uniform(18.0, 32.0))
    coarse = np.arange(0.0, t[-1] + 1.0, 1.0)
    loss_motor = np.stack([np.interp(coarse, t, motor_torque[:, k] ** 2) for k in range(4)], axis=1)
    loss_pack = np.interp(coarse, t, current**2 * PACK_RESISTANCE_OHM)
    brake_heat = np.interp(coarse, t, -friction * v)
    motor_temp = _lag(ambient + 6.0, ambient + 2.2 * loss_motor, 240.0)
    inverter_temp = _lag(ambient + 4.0, ambient + 1.1 * loss_motor, 120.0)
    pack_temp = _lag(ambient + 3.0, ambient + loss_pack / 40.0, 900.0)
    coolant = _lag(ambient + 2.0, ambient + 0.6 * loss_motor.mean(axis=1), 300.0)
    rotor = _lag(
        ambient + 5.0, ambient + np.outer(brake_heat, [0.35, 0.35, 0.15, 0.15]) / 25.0, 60.0
    )
    for name, values in (
        ("motor_temp", motor_temp),
        ("inverter_temp", inverter_temp),
        ("pack_temp", pack_temp),
        ("coolant_temp", coolant),
        ("rotor_temp", rotor),
    ):
        if values.ndim == 1:
            sig[name] = np.interp(t, coarse, values)
        else:
            sig[name] = np.stack(
                [np.interp(t, coarse, values[:, k]) for k in range(values.shape[1])], axis=1
            )
    sig["ambient"] = np.full_like(t, ambient)
    sig["car_state"] = car_state_at(t).astype(np.float64)
    sig["glv_voltage"] = 12.9 - 0.4 * t / max(duration_s, 1.0) - 0.002 * np.abs(current)
    return VehicleState(t, sig, drive)


def _lag(start: float, target: npt.NDArray[np.float64], tau_s: float) -> npt.NDArray[np.float64]:
    """First-order response to `target` (1 s steps), starting at `start`."""
    a = math.exp(-1.0 / tau_s)
    out = np.empty_like(target, dtype=np.float64)
    cur = np.full(target.shape[1:], start, dtype=np.float64)
    for i in range(target.shape[0]):
        cur = a * cur + (1 - a) * target[i]
        out[i] = cur
    return out
