"""The flat CAN-style messages: 80 messages named as in the car's DBC, 1-100 Hz.

All live in one file, `hytech.proto` (proto3, no package), like the firmware's generated
file; each channel's schema carries the whole file, as the team's logger writes it.
Topic = message name + `_data`. Motor controllers 1-4 sit at FL, FR, RL, RR; the right
side motors turn the other way, so their speeds are negative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pitwall.synth.schemas import EnumDef, FieldDef, MessageDef, ProtoFile
from pitwall.synth.signals import (
    Column,
    Ctx,
    Recipe,
    const,
    counter,
    flag,
    integral,
    ready,
    st,
    wander,
)
from pitwall.synth.track import LAUNCH_AFTER_S
from pitwall.synth.vehicle import CAR_STATES

Sig = tuple[str, str, Recipe]


@dataclass(frozen=True, slots=True)
class CanMessage:
    name: str
    rate_hz: float
    signals: tuple[Sig, ...]


CAN_ENUMS = [
    # proto3 enum values share the package scope: prefixed to stay unique.
    EnumDef("mcu_state_e", tuple(f"MCU_STATE_{s}" for s in CAR_STATES)),
    EnumDef(
        "bms_state_e",
        ("BMS_STATE_IDLE", "BMS_STATE_DISCHARGING", "BMS_STATE_CHARGING", "BMS_STATE_FAULT"),
    ),
    EnumDef(
        "dial_mode_e",
        tuple(
            f"DIAL_MODE_{m}"
            for m in (
                "MODE_0",
                "MODE_1",
                "MODE_2",
                "ACCEL_LAUNCH",
                "SKIDPAD",
                "AUTOCROSS",
                "ENDURANCE",
            )
        ),
    ),
    EnumDef("lap_clock_e", ("LAP_CLOCK_STOPPED", "LAP_CLOCK_RUNNING", "LAP_CLOCK_FINISHED")),
]

# Wheel index of each corner prefix; motor direction (right side mirrored).
_CORNER = {"lf": 0, "rf": 1, "lr": 2, "rr": 3}
_MC_WHEEL = (0, 1, 2, 3)
_MC_SIGN = (1.0, -1.0, 1.0, -1.0)


def _wheel_above(name: str, wheel: int, limit: float) -> Recipe:
    """One wheel's column of a state above a limit (a factory, so each loop turn keeps its wheel)."""
    return lambda c: c.st(name)[:, wheel] > limit


def _wheel_over(name: str, wheel: int, divisor: str) -> Recipe:
    """One wheel's column of a state divided by a car-wide state."""
    return lambda c: c.st(name)[:, wheel] / c.st(divisor)


def _mc_messages() -> list[CanMessage]:
    out: list[CanMessage] = []
    for i, wheel in enumerate(_MC_WHEEL):
        n, sign = i + 1, _MC_SIGN[i]
        out += [
            CanMessage(
                f"mc{n}_status",
                20,
                (
                    ("system_ready", "bool", ready(2)),
                    ("error", "bool", flag(0.0)),
                    ("warning", "bool", flag(0.03)),
                    ("quit_dc_on", "bool", ready(2)),
                    ("dc_on", "bool", ready(2)),
                    ("quit_inverter_on", "bool", ready(3)),
                    ("inverter_on", "bool", ready(3)),
                    ("derating_on", "bool", _wheel_above("motor_temp", wheel, 70.0)),
                    ("speed_rpm", "int32", st("motor_rpm", sign, wheel=wheel, noise=2.0)),
                    ("torque_current", "float", st("motor_torque", 2.1, wheel=wheel, noise=0.05)),
                    (
                        "magnetizing_current",
                        "float",
                        st("motor_rpm", 0.0004, 1.5, wheel=wheel, noise=0.02),
                    ),
                    ("hv_present", "bool", ready(2)),
                    ("motor_enabled", "bool", ready(5)),
                    ("error_code", "uint32", const(0)),
                    ("status_counter", "uint32", counter(256)),
                ),
            ),
            CanMessage(
                f"mc{n}_temps",
                5,
                (
                    ("motor_temp", "float", st("motor_temp", wheel=wheel, noise=0.2)),
                    ("inverter_temp", "float", st("inverter_temp", wheel=wheel, noise=0.2)),
                    ("igbt_temp", "float", st("inverter_temp", 1.08, 1.5, wheel=wheel, noise=0.3)),
                    ("diagnostic_number", "uint32", const(0)),
                    ("cold_plate_temp", "float", st("coolant_temp", 1.0, 3.0, 0.2)),
                    ("coolant_in_temp", "float", st("coolant_temp", noise=0.2)),
                    ("board_temp", "float", st("inverter_temp", 0.6, 12.0, wheel=wheel, noise=0.3)),
                    ("derate_threshold_temp", "float", const(70.0)),
                ),
            ),
            CanMessage(
                f"mc{n}_energy",
                20,
                (
                    ("dc_bus_voltage", "float", st("pack_voltage", noise=0.4)),
                    ("motor_power", "int32", st("motor_power", wheel=wheel, noise=5.0)),
                    # mNm, negative while regenerating
                    (
                        "feedback_torque",
                        "sint32",
                        st("motor_torque", 1000.0, wheel=wheel, noise=30.0),
                    ),
                    ("total_energy_j", "int64", integral("motor_power", wheel=wheel)),
                    (
                        "dc_bus_current",
                        "float",
                        _wheel_over("motor_power", wheel, "pack_voltage"),
                    ),
                    (
                        "ac_current_rms",
                        "float",
                        st("motor_torque", 2.3, 1.2, wheel=wheel, noise=0.1),
                    ),
                    ("efficiency", "float", wander(0.93, 0.01, 0.002)),
                    ("voltage_ripple", "float", wander(1.8, 0.3, 0.05)),
                ),
            ),
            CanMessage(
                f"mc{n}_setpoints_command",
                20,
                (
                    ("inverter_enable", "bool", ready(3)),
                    ("hv_enable", "bool", ready(2)),
                    ("driver_enable", "bool", ready(5)),
                    ("remove_error", "bool", flag(0.0)),
                    ("speed_setpoint_rpm", "int32", st("motor_rpm", sign * 1.05, wheel=wheel)),
                    ("positive_torque_limit", "float", const(21.0)),
                    ("negative_torque_limit", "float", const(-10.0)),
                    ("torque_setpoint", "float", st("motor_torque", wheel=wheel)),
                    ("speed_limit_rpm", "uint32", const(20000)),
                    ("current_limit", "float", const(105.0)),
                ),
            ),
            CanMessage(
                f"mc{n}_torque_command",
                20,
                (
                    ("torque_command", "float", st("motor_torque", wheel=wheel, noise=0.02)),
                    ("torque_request_raw", "sint32", st("motor_torque", 1000.0, wheel=wheel)),
                    ("torque_limit_pos", "float", const(21.0)),
                    ("torque_limit_neg", "float", const(-10.0)),
                    ("command_counter", "uint32", counter(65536)),
                ),
            ),
        ]
    return out


def _ttpms_messages() -> list[CanMessage]:
    out: list[CanMessage] = []
    for corner in ("lf", "lr", "rf", "rr"):
        up, w = corner.upper(), _CORNER[corner]
        serial = 0x3A000 + 17 * w

        # Tyre temperature rises with the corner's load history and the air temperature.
        def tyre(offset: float, w: int = w) -> Recipe:
            return lambda c: (
                c.st("ambient") + 18.0 + 0.012 * c.st("normal_load")[:, w] + offset + c.noise(0.3)
            )

        out.append(
            CanMessage(
                f"{corner}_ttpms_1",
                1,
                (
                    (f"{up}_TTPMS_SN", "float", const(serial)),
                    (f"{up}_TTPMS_BAT_V", "float", wander(2.95, 0.02, 0.003)),
                    (f"{up}_TTPMS_P", "float", wander(185.0, 1.5, 0.2)),  # kPa absolute
                    (f"{up}_TTPMS_P_GAUGE", "float", wander(83.7, 1.5, 0.2)),
                    (f"{up}_TTPMS_P_RAW", "uint32", wander(2310.0, 20.0, 3.0)),
                    (f"{up}_TTPMS_P_TEMP", "float", st("ambient", 1.0, 9.0, 0.2)),
                ),
            )
        )
        for k in range(4):
            out.append(
                CanMessage(
                    f"{corner}_ttpms_{k + 2}",
                    1,
                    (
                        *(
                            (
                                f"{up}_TTPMS_T{4 * k + j + 1}",
                                "float",
                                tyre(-1.5 * abs(4 * k + j - 7.5)),
                            )
                            for j in range(4)
                        ),
                        # The same four channels as the sensor's raw counts.
                        *(
                            (
                                f"{up}_TTPMS_T{4 * k + j + 1}_RAW",
                                "uint32",
                                wander(1900.0, 40.0, 5.0),
                            )
                            for j in range(4)
                        ),
                    ),
                )
            )
        out.append(
            CanMessage(
                f"{corner}_ttpms_6",
                1,
                (
                    (f"{up}_TTPMS_NODE_TEMP", "float", st("ambient", 1.0, 6.0, 0.2)),
                    (f"{up}_TTPMS_RSSI", "sint32", wander(-67.0, 6.0, 2.0)),  # dBm: negative
                    (f"{up}_TTPMS_ALERT", "bool", flag(0.0)),
                    (f"{up}_TTPMS_TX_COUNT", "uint32", counter()),
                    (f"{up}_TTPMS_BAT_LOW", "bool", flag(0.0)),
                    (f"{up}_TTPMS_FW_VERSION", "uint32", const(0x0103)),
                    (f"{up}_TTPMS_SENSOR_STATUS", "uint32", const(1)),
                    (f"{up}_TTPMS_ERROR_COUNT", "uint32", const(0)),
                ),
            )
        )
    return out


def _bms_state(c: Ctx) -> np.ndarray:
    state = np.where(c.st("car_state") >= 2, 1, 0)
    window = c.info.get("fault_window_s")  # write_synth(fault_at=...)
    if window:
        lo, hi = (float(x) for x in window.split(","))
        state = np.where((c.t >= lo) & (c.t < hi), 3, state)  # BMS_STATE_FAULT
    return state


def _bms_messages() -> list[CanMessage]:
    cells = 126
    return [
        CanMessage(
            "bms_status",
            10,
            (
                ("state", "bms_state_e", _bms_state),
                ("overvoltage", "bool", flag(0.0)),
                ("undervoltage", "bool", flag(0.0)),
                ("total_voltage_high", "bool", flag(0.0)),
                ("discharge_overcurrent", "bool", lambda c: c.st("pack_current") > 75.0),
                ("charge_overcurrent", "bool", flag(0.0)),
                ("discharge_overtemp", "bool", flag(0.0)),
                ("charge_overtemp", "bool", flag(0.0)),
                ("undertemp", "bool", flag(0.0)),
                ("onboard_overtemp", "bool", flag(0.0)),
                ("current", "float", st("pack_current", noise=0.1)),
                ("flags", "uint32", lambda c: (c.st("pack_current") > 75.0).astype(np.int64) << 4),
            ),
        ),
        CanMessage(
            "bms_voltages",
            10,
            (
                ("average_voltage", "float", st("cell_voltage", noise=0.001)),
                ("low_voltage", "float", st("cell_voltage", 1.0, -0.012, 0.001)),
                ("high_voltage", "float", st("cell_voltage", 1.0, 0.010, 0.001)),
                ("total_voltage", "float", st("cell_voltage", cells, noise=0.05)),
                ("cell_delta", "float", wander(0.022, 0.003, 0.001)),
                ("low_voltage_cell_id", "uint32", const(37)),
                ("high_voltage_cell_id", "uint32", const(102)),
            ),
        ),
        CanMessage(
            "bms_temps",
            5,
            (
                ("average_temperature", "float", st("pack_temp", noise=0.05)),
                ("low_temperature", "float", st("pack_temp", 1.0, -2.1, 0.05)),
                ("high_temperature", "float", st("pack_temp", 1.0, 3.4, 0.05)),
                ("low_thermistor_id", "uint32", const(5)),
                ("high_thermistor_id", "uint32", const(41)),
                ("humidity", "float", wander(38.0, 3.0, 0.2)),
            ),
        ),
        CanMessage(
            "bms_onboard_temps",
            2,
            (
                ("average_temperature", "float", st("pack_temp", 1.0, 6.0, 0.1)),
                ("low_temperature", "float", st("pack_temp", 1.0, 4.0, 0.1)),
                ("high_temperature", "float", st("pack_temp", 1.0, 9.0, 0.1)),
            ),
        ),
        CanMessage(
            "bms_detailed_voltages",
            20,
            (
                # Multiplexed: each message carries 6 cells of one IC of one group.
                ("group_id", "int32", lambda c: (np.arange(c.n) // 12) % 2),
                ("ic_id", "int32", counter(12)),
                *(
                    (f"voltage_{k}", "float", st("cell_voltage", 1.0, 0.0, 0.004))
                    for k in range(12)
                ),
            ),
        ),
        CanMessage(
            "bms_detailed_temps",
            10,
            (
                ("group_id", "int32", lambda c: (np.arange(c.n) // 12) % 2),
                ("ic_id", "int32", counter(12)),
                *(
                    (f"thermistor_id_{k}", "float", st("pack_temp", 1.0, 0.5 * k, 0.2))
                    for k in range(6)
                ),
            ),
        ),
        CanMessage(
            "bms_balancing_status",
            2,
            (
                ("group_id", "int32", counter(2)),
                *((f"cell_{k}_balancing_status", "bool", flag(0.08)) for k in range(1, 61)),
            ),
        ),
        CanMessage(
            "bms_coulomb_counts",
            5,
            (
                ("total_charge", "float", integral("regen_current", 1.0 / 3600.0)),  # Ah
                ("total_discharge", "float", integral("discharge_current", 1.0 / 3600.0)),
            ),
        ),
        CanMessage(
            "bms_onboard_detailed_temps",
            2,
            (
                ("ic_id", "int32", counter(12)),
                ("temperature_0", "float", st("pack_temp", 1.0, 5.0, 0.2)),
                ("temperature_1", "float", st("pack_temp", 1.0, 5.5, 0.2)),
            ),
        ),
    ]


def _pedal_raw(lo: float, hi: float, name: str) -> Recipe:
    return lambda c: lo + (hi - lo) * np.clip(c.st(name), 0, 1) + c.noise(4.0)


def _mcu_messages() -> list[CanMessage]:
    return [
        CanMessage(
            "mcu_status",
            20,
            (
                ("mcu_state", "mcu_state_e", st("car_state")),
                ("imd_ok_high", "bool", const(1)),
                ("bms_ok_high", "bool", const(1)),
                ("bspd_ok_high", "bool", const(1)),
                ("software_ok_high", "bool", const(1)),
                ("shutdown_e_above_threshold", "bool", ready(1)),
                ("brake_pedal_active", "bool", lambda c: c.st("brake") > 0.05),
                ("inverter_power_enabled", "bool", ready(3)),
                ("energy_meter_present", "bool", const(1)),
                ("launch_ctrl_active", "bool", lambda c: (c.t > 1.9) & (c.t < 4.0)),
                ("max_torque", "uint32", const(21)),
                ("torque_mode", "uint32", const(2)),
                ("distance_travelled_m", "float", st("s")),
                ("bspd_current_high", "bool", lambda c: c.st("power") > 5000.0),
                ("bspd_brake_high", "bool", lambda c: c.st("brake") > 0.3),
                ("no_accel_implausibility", "bool", const(1)),
                ("no_brake_implausibility", "bool", const(1)),
                ("torque_vectoring_on", "bool", ready(5)),
                ("regen_mode", "uint32", const(1)),
            ),
        ),
        CanMessage(
            "mcu_pedal_readings",
            50,
            (
                ("accel_pedal_1", "uint32", _pedal_raw(820, 3100, "throttle")),
                ("accel_pedal_2", "uint32", _pedal_raw(3200, 900, "throttle")),
                ("brake_pedal_1", "uint32", _pedal_raw(1100, 2600, "brake")),
                ("brake_pedal_2", "uint32", _pedal_raw(2900, 1400, "brake")),
                ("accel_percent", "float", st("throttle", 100.0, noise=0.2)),
                ("brake_percent", "float", st("brake", 100.0, noise=0.2)),
                ("accel_implausible", "bool", flag(0.0)),
                ("brake_implausible", "bool", flag(0.0)),
                ("mechanical_brake_active", "bool", lambda c: c.st("brake") > 0.05),
                ("pedal_counter", "uint32", counter(256)),
            ),
        ),
        CanMessage(
            "mcu_analog_readings",
            20,
            (
                ("steering_1", "sint32", st("steer_deg", 22.0, 0.0, 3.0)),  # counts, negative right
                ("steering_2", "uint32", st("steer_deg", 11.0, 2048.0, 2.0)),
                ("hall_effect_current", "float", st("pack_current", 1.0, 0.0, 0.3)),
                ("glv_battery_voltage", "float", st("glv_voltage", noise=0.02)),
                ("steering_angle", "float", st("steer_deg", noise=0.1)),
                ("shutdown_voltage", "float", st("glv_voltage", 0.98, noise=0.02)),
                ("ts_voltage", "float", st("pack_voltage", noise=0.5)),
                ("vref", "float", wander(3.3, 0.002, 0.001)),
            ),
        ),
        CanMessage(
            "mcu_load_cells",
            50,
            tuple(
                (f"{w}_load_cell", "float", st("normal_load", wheel=i, noise=8.0))
                for i, w in enumerate(("fl", "fr", "rl", "rr"))
            ),
        ),
        CanMessage(
            "mcu_front_pots",
            50,
            (
                ("pot1", "uint32", st("susp_travel", 40.0, 1200.0, 3.0, wheel=0)),
                ("pot2", "uint32", st("steer_deg", 6.0, 2048.0, 2.0)),
                ("pot3", "uint32", st("susp_travel", 40.0, 1250.0, 3.0, wheel=1)),
            ),
        ),
        CanMessage(
            "mcu_rear_pots",
            50,
            (
                ("pot4", "uint32", st("susp_travel", 40.0, 1180.0, 3.0, wheel=2)),
                ("pot5", "uint32", wander(2000.0, 15.0, 2.0)),
                ("pot6", "uint32", st("susp_travel", 40.0, 1220.0, 3.0, wheel=3)),
            ),
        ),
    ]


def _lap_fields() -> tuple[Sig, ...]:
    def crossings(c: Ctx) -> np.ndarray:
        return np.array(c.vehicle.drive.lap_crossings_s)

    def laps_done(c: Ctx) -> Column:
        return np.searchsorted(crossings(c), c.t, side="right")

    def prev_lap_ms(c: Ctx) -> Column:
        marks = np.concatenate(([LAUNCH_AFTER_S], crossings(c)))
        done = np.searchsorted(crossings(c), c.t, side="right")
        laps = np.diff(marks)
        return np.where(done > 0, laps[np.maximum(done - 1, 0)] * 1000.0, 0.0)

    def best_lap_ms(c: Ctx) -> Column:
        marks = np.concatenate(([LAUNCH_AFTER_S], crossings(c)))
        laps = np.minimum.accumulate(np.diff(marks))
        done = np.searchsorted(crossings(c), c.t, side="right")
        return np.where(done > 0, laps[np.maximum(done - 1, 0)] * 1000.0, 0.0)

    return (
        ("prev_lap_time_ms", "uint32", prev_lap_ms),
        ("best_lap_time_ms", "uint32", best_lap_ms),
        ("lap_clock_state", "lap_clock_e", lambda c: (c.t > LAUNCH_AFTER_S).astype(np.int64)),
        ("laps_completed", "uint32", laps_done),
    )


def _misc_messages() -> list[CanMessage]:
    wheels = ("fl", "fr", "rl", "rr")
    return [
        CanMessage(
            "dashboard_state",
            5,
            (
                ("start_btn", "bool", flag(0.0)),
                ("mark_btn", "bool", flag(0.02)),
                ("mode_btn", "bool", flag(0.0)),
                ("mc_cycle_btn", "bool", flag(0.0)),
                ("launch_ctrl_btn", "bool", flag(0.0)),
                ("torque_btn", "bool", flag(0.01)),
                ("led_dimmer_btn", "bool", flag(0.0)),
                ("dial_state", "dial_mode_e", const(6)),
                ("ams_led", "uint32", const(0)),
                ("imd_led", "uint32", const(0)),
                ("mode_led", "uint32", const(2)),
                ("mc_error_led", "uint32", const(0)),
                ("start_led", "uint32", ready(5)),
                ("launch_control_led", "uint32", const(0)),
            ),
        ),
        CanMessage(
            "dashboard_mcu_state",
            5,
            (
                ("bots_led", "uint32", const(1)),
                ("launch_control_led", "uint32", const(0)),
                ("mode_led", "uint32", const(2)),
                ("mechanical_brake_led", "uint32", lambda c: c.st("brake") > 0.05),
                ("cockpit_brb_led", "uint32", const(1)),
                ("inertia_led", "uint32", const(1)),
                ("start_status_led", "uint32", ready(5)),
                ("motor_controller_error_led", "uint32", const(0)),
                ("ready_to_drive_buzzer", "bool", lambda c: (c.t > 1.5) & (c.t < 2.0)),
                ("glv_led", "uint32", const(255)),
            ),
        ),
        CanMessage("tcu_lap_times", 1, _lap_fields()),
        CanMessage(
            "tcu_driver_msg",
            1,
            (
                ("driver_msg_var_1", "uint32", counter(3)),
                ("driver_msg_var_2", "uint32", const(0)),
                ("target_lap_time_ms", "uint32", const(68000)),
            ),
        ),
        # Not charging on track: every field is at its default, the message is empty.
        CanMessage(
            "charger_data",
            1,
            (
                ("output_dc_voltage", "float", const(0.0)),
                ("output_current", "float", const(0.0)),
                ("flags", "uint32", const(0)),
                ("input_ac_voltage", "float", const(0.0)),
            ),
        ),
        CanMessage(
            "charger_control",
            1,
            (
                ("max_charging_voltage", "float", const(0.0)),
                ("max_charging_current", "float", const(0.0)),
                ("control", "uint32", const(1)),
            ),
        ),
        CanMessage(
            "em_measurement",
            20,
            (
                ("voltage", "float", st("pack_voltage", noise=0.2)),
                ("current", "float", st("pack_current", noise=0.2)),
                ("power_w", "float", st("power", noise=50.0)),
                ("energy_wh", "float", integral("power", 1.0 / 3600.0)),
                ("min_voltage", "float", st("pack_voltage", 1.0, -1.5, 0.2)),
                ("max_current", "float", st("pack_current", 1.0, 2.0, 0.2)),
            ),
        ),
        CanMessage(
            "em_status",
            5,
            (
                ("voltage_gain", "uint32", const(3)),
                ("current_gain", "uint32", const(5)),
                ("overvoltage", "bool", flag(0.0)),
                ("overpower", "bool", lambda c: c.st("power") > 40000.0),
                ("logging", "bool", const(1)),
            ),
        ),
        CanMessage(
            "sab_load_cells",
            50,
            (
                ("rl_load_cell", "float", st("normal_load", wheel=2, noise=8.0)),
                ("rr_load_cell", "float", st("normal_load", wheel=3, noise=8.0)),
                ("rl_shock_pot", "uint32", st("susp_travel", 40.0, 1180.0, 3.0, wheel=2)),
                ("rr_shock_pot", "uint32", st("susp_travel", 40.0, 1220.0, 3.0, wheel=3)),
            ),
        ),
        CanMessage(
            "ccu_status",
            1,
            (
                ("charger_enabled", "bool", const(0)),
                ("balancing_enabled", "bool", const(0)),
                ("charger_connected", "bool", const(0)),
                ("ccu_uptime_s", "uint32", lambda c: c.t + 5400.0),
            ),
        ),
        CanMessage(
            "drivetrain_rpms_telem",
            20,
            tuple(
                (f"{w}_motor_rpm", "sint32", st("motor_rpm", _MC_SIGN[i], wheel=i, noise=2.0))
                for i, w in enumerate(wheels)
            ),
        ),
        CanMessage(
            "drivetrain_torque_telem",
            20,
            tuple(
                (f"{w}_motor_torque", "sint32", st("motor_torque", 1000.0, wheel=i, noise=30.0))
                for i, w in enumerate(wheels)
            ),
        ),
        CanMessage(
            "drivetrain_status_telem",
            10,
            tuple(
                (f"mc{i + 1}_{what}", "bool", ready(level))
                for i in range(4)
                for what, level in (("dc_on", 2), ("inverter_on", 3))
            ),
        ),
        CanMessage(
            "drivetrain_err_status_telem",
            5,
            tuple((f"mc{i + 1}_diagnostic_number", "uint32", const(0)) for i in range(4)),
        ),
        CanMessage(
            "acu_shunt_measurements",
            20,
            (
                ("current_shunt_read", "float", st("pack_current", noise=0.15)),
                ("pack_filtered_read", "float", st("pack_voltage", noise=0.1)),
                ("ts_out_filtered_read", "float", st("pack_voltage", 1.0, -0.6, 0.1)),
                ("shunt_temp", "float", st("pack_temp", 1.0, 2.0, 0.1)),
                ("current_raw", "sint32", st("pack_current", 100.0, noise=10.0)),
                ("measurement_ok", "bool", const(1)),
            ),
        ),
        CanMessage(
            "controller_power_lim",
            10,
            (
                *((f"power_lim_{w}", "float", const(20000.0)) for w in wheels),
                ("target_power", "uint32", const(80000)),
                ("power_lim_active", "bool", lambda c: c.st("power") > 60000.0),
            ),
        ),
        CanMessage(
            "controller_boolean",
            10,
            (
                ("use_launch", "bool", lambda c: c.t < 4.0),
                ("use_tcs", "bool", const(1)),
                ("use_tcs_lut", "bool", const(0)),
                ("use_normal_force", "bool", const(1)),
                ("use_power_limit", "bool", const(1)),
                ("use_pid_tv", "bool", const(1)),
                # Bit 63 is the "config valid" flag: values beyond the int64 range.
                (
                    "config_mask",
                    "uint64",
                    lambda c: np.full(c.n, (1 << 63) | 0x2F, dtype=np.uint64),
                ),
            ),
        ),
        CanMessage(
            "sab_thermistors_1",
            2,
            tuple(
                (f"thermistor_motor_{w}", "float", st("motor_temp", wheel=i, noise=0.3))
                for i, w in enumerate(wheels)
            ),
        ),
        CanMessage(
            "sab_thermistors_2",
            2,
            (
                ("thermistor_acc_1", "float", st("pack_temp", noise=0.3)),
                ("thermistor_acc_2", "float", st("pack_temp", 1.0, 1.0, 0.3)),
                ("thermistor_pump", "float", st("coolant_temp", noise=0.3)),
                ("thermistor_radiator_in", "float", st("coolant_temp", 1.0, 2.0, 0.3)),
                ("thermistor_radiator_out", "float", st("coolant_temp", 1.0, -3.0, 0.3)),
                ("thermistor_cabin", "float", st("ambient", 1.0, 4.0, 0.3)),
            ),
        ),
        CanMessage(
            "steering_data",
            50,
            (
                ("steering_analog_raw", "uint32", st("steer_deg", 11.0, 2048.0, 2.0)),
                ("steering_digital_raw", "sint32", st("steer_deg", 45.5, 0.0, 1.0)),
                ("steering_angle", "float", st("steer_deg", noise=0.05)),
                ("steering_valid", "bool", const(1)),
                ("encoder_fault", "bool", flag(0.0)),
                ("analog_supply_v", "float", wander(5.0, 0.01, 0.002)),
            ),
        ),
        CanMessage(
            "vn_gps_time",
            5,
            (
                ("gps_time_ns", "uint64", _gps_time_ns),
                ("gps_week", "uint32", lambda c: _gps_time_ns(c) // (604800 * 10**9)),
                (
                    "time_of_week_ms",
                    "uint32",
                    lambda c: (_gps_time_ns(c) // 10**6) % (604800 * 1000),
                ),
                ("leap_seconds", "int32", const(18)),
                ("time_valid", "bool", lambda c: c.t >= 1.0),
            ),
        ),
    ]


GPS_EPOCH_UNIX_NS = 315_964_800 * 10**9
GPS_LEAP_SECONDS = 18


def _gps_time_ns(c: Ctx) -> npt.NDArray[np.uint64]:
    """ns since the GPS epoch (1980-01-06), GPS time being 18 s ahead of UTC."""
    since = c.start_ns - GPS_EPOCH_UNIX_NS + GPS_LEAP_SECONDS * 10**9
    return (np.int64(since) + np.round(c.t * 1e9).astype(np.int64)).astype(np.uint64)


def can_messages() -> list[CanMessage]:
    return [
        *_mc_messages(),
        *_ttpms_messages(),
        *_bms_messages(),
        *_mcu_messages(),
        *_misc_messages(),
    ]


def can_file(messages: list[CanMessage]) -> ProtoFile:
    defs = [
        MessageDef(
            m.name, tuple(FieldDef(name, typ, k + 1) for k, (name, typ, _) in enumerate(m.signals))
        )
        for m in messages
    ]
    return ProtoFile("hytech.proto", "", defs, list(CAN_ENUMS))


def can_generator(message: CanMessage) -> Callable[[Ctx], dict[str, Column]]:
    def generate(c: Ctx) -> dict[str, Column]:
        return {name: recipe(c) for name, _, recipe in message.signals}

    return generate
