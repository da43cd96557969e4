"""What each signal of synth's CAN-style messages is: its unit and a one-line description.

The units follow the recipes in `catalog_can` (what the numbers really are, not what the
team's car uses: synth's tyre pressures are kPa where the car's are mbar). Counts, ids, raw
ADC readings, flags and booleans have no unit. A rule names a message (regex) and a signal
(regex); named groups fill the description: `mc` (motor controller 1-4, also gives `wheel`),
`c` (tyre sensor corner LF/LR/RF/RR), `w` (wheel fl/fr/rl/rr), `n` (a channel number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pitwall.synth.vehicle import WHEELS

_MC = r"mc(?P<mc>[1-4])"
_TTPMS = r"(?P<c>LF|LR|RF|RR)_TTPMS"
_W = r"(?P<w>fl|fr|rl|rr)"


@dataclass(frozen=True, slots=True)
class SignalInfo:
    unit: str | None
    description: str


@dataclass(frozen=True, slots=True)
class _Rule:
    message: re.Pattern[str]
    signal: re.Pattern[str]
    unit: str | None
    description: str


def _rules(message: str, table: list[tuple[str, str | None, str]]) -> list[_Rule]:
    return [_Rule(re.compile(message), re.compile(sig), unit, text) for sig, unit, text in table]


_INV = "Inverter {mc} ({wheel})"
_MOTOR = "Motor {mc} ({wheel})"
_TYRE = "{c} tyre sensor"

RULES: list[_Rule] = [
    *_rules(rf"{_MC}_status", [
        ("system_ready", None, f"{_INV}: system ready"),
        ("error", None, f"{_INV}: an error is active"),
        ("warning", None, f"{_INV}: a warning is active"),
        ("quit_dc_on", None, f"{_INV}: acknowledges DC bus on"),
        ("dc_on", None, f"{_INV}: DC bus on"),
        ("quit_inverter_on", None, f"{_INV}: acknowledges inverter on"),
        ("inverter_on", None, f"{_INV}: inverter on"),
        ("derating_on", None, f"{_INV}: derating, motor above its derate temperature"),
        ("speed_rpm", "rpm", f"{_MOTOR} speed; the right-side motors turn the other way (negative)"),
        ("torque_current", "A", f"{_MOTOR} torque-producing current (Iq)"),
        ("magnetizing_current", "A", f"{_MOTOR} magnetizing current (Id)"),
        ("hv_present", None, f"{_INV}: high voltage present"),
        ("motor_enabled", None, f"{_INV}: motor enabled (ready to drive)"),
        ("error_code", None, f"{_INV}: error code, 0 when none"),
        ("status_counter", None, f"{_INV}: rolling message counter (0-255)"),
    ]),
    *_rules(rf"{_MC}_temps", [
        ("motor_temp", "degC", f"{_MOTOR} winding temperature"),
        ("inverter_temp", "degC", f"{_INV} temperature"),
        ("igbt_temp", "degC", f"{_INV} IGBT temperature"),
        ("diagnostic_number", None, f"{_INV}: diagnostic number, 0 when none"),
        ("cold_plate_temp", "degC", f"{_INV} cold plate temperature"),
        ("coolant_in_temp", "degC", f"{_INV} coolant inlet temperature"),
        ("board_temp", "degC", f"{_INV} control board temperature"),
        ("derate_threshold_temp", "degC", f"{_MOTOR} temperature above which torque is derated"),
    ]),
    *_rules(rf"{_MC}_energy", [
        ("dc_bus_voltage", "V", f"{_INV} DC bus voltage"),
        ("motor_power", "W", f"{_MOTOR} mechanical power, negative while regenerating"),
        ("feedback_torque", "mNm", f"{_MOTOR} measured torque, negative while regenerating"),
        ("total_energy_j", "J", f"{_MOTOR} energy delivered since power-up, net of regeneration"),
        ("dc_bus_current", "A", f"{_INV} DC bus current"),
        ("ac_current_rms", "A", f"{_MOTOR} phase current (RMS)"),
        ("efficiency", None, f"{_INV} efficiency, fraction 0-1"),
        ("voltage_ripple", "V", f"{_INV} DC bus voltage ripple"),
    ]),
    *_rules(rf"{_MC}_setpoints_command", [
        ("inverter_enable", None, f"{_INV}: command inverter on"),
        ("hv_enable", None, f"{_INV}: command DC bus on"),
        ("driver_enable", None, f"{_INV}: command driver enable"),
        ("remove_error", None, f"{_INV}: command clear errors"),
        ("speed_setpoint_rpm", "rpm", f"{_MOTOR} speed setpoint"),
        ("positive_torque_limit", "Nm", f"{_MOTOR} drive torque limit"),
        ("negative_torque_limit", "Nm", f"{_MOTOR} regenerative torque limit (negative)"),
        ("torque_setpoint", "Nm", f"{_MOTOR} torque setpoint"),
        ("speed_limit_rpm", "rpm", f"{_MOTOR} speed limit"),
        ("current_limit", "A", f"{_INV} current limit"),
    ]),
    *_rules(rf"{_MC}_torque_command", [
        ("torque_command", "Nm", f"{_MOTOR} torque command"),
        ("torque_request_raw", "mNm", f"{_MOTOR} torque request as sent"),
        ("torque_limit_pos", "Nm", f"{_MOTOR} drive torque limit"),
        ("torque_limit_neg", "Nm", f"{_MOTOR} regenerative torque limit (negative)"),
        ("command_counter", None, f"{_INV}: rolling command counter (0-65535)"),
    ]),
    *_rules(r"(lf|lr|rf|rr)_ttpms_1", [
        (rf"{_TTPMS}_SN", None, f"{_TYRE}: serial number"),
        (rf"{_TTPMS}_BAT_V", "V", f"{_TYRE}: battery voltage"),
        (rf"{_TTPMS}_P", "kPa", "{c} tyre pressure, absolute"),
        (rf"{_TTPMS}_P_GAUGE", "kPa", "{c} tyre pressure above atmospheric"),
        (rf"{_TTPMS}_P_RAW", None, f"{_TYRE}: pressure, raw counts"),
        (rf"{_TTPMS}_P_TEMP", "degC", f"{_TYRE}: pressure sensor temperature"),
    ]),
    *_rules(r"(lf|lr|rf|rr)_ttpms_[2-5]", [
        (rf"{_TTPMS}_T(?P<n>\d+)", "degC", "{c} tyre surface temperature, zone {n} of 16 across the tread"),
        (rf"{_TTPMS}_T(?P<n>\d+)_RAW", None, f"{_TYRE}: surface temperature zone {{n}}, raw counts"),
    ]),
    *_rules(r"(lf|lr|rf|rr)_ttpms_6", [
        (rf"{_TTPMS}_NODE_TEMP", "degC", f"{_TYRE}: electronics temperature"),
        (rf"{_TTPMS}_RSSI", "dBm", f"{_TYRE}: radio signal strength"),
        (rf"{_TTPMS}_ALERT", None, f"{_TYRE}: alert"),
        (rf"{_TTPMS}_TX_COUNT", None, f"{_TYRE}: transmissions since power-up"),
        (rf"{_TTPMS}_BAT_LOW", None, f"{_TYRE}: battery low"),
        (rf"{_TTPMS}_FW_VERSION", None, f"{_TYRE}: firmware version (major << 8 | minor)"),
        (rf"{_TTPMS}_SENSOR_STATUS", None, f"{_TYRE}: status code, 1 when healthy"),
        (rf"{_TTPMS}_ERROR_COUNT", None, f"{_TYRE}: errors since power-up"),
    ]),
    *_rules("bms_status", [
        ("state", None, "Battery management state"),
        ("overvoltage", None, "BMS: a cell is above its maximum voltage"),
        ("undervoltage", None, "BMS: a cell is below its minimum voltage"),
        ("total_voltage_high", None, "BMS: pack voltage above its maximum"),
        ("discharge_overcurrent", None, "BMS: discharge current above its limit"),
        ("charge_overcurrent", None, "BMS: charge current above its limit"),
        ("discharge_overtemp", None, "BMS: too hot to discharge"),
        ("charge_overtemp", None, "BMS: too hot to charge"),
        ("undertemp", None, "BMS: a cell is below its minimum temperature"),
        ("onboard_overtemp", None, "BMS: its own electronics are too hot"),
        ("current", "A", "Pack current, positive discharging"),
        ("flags", None, "BMS fault flags (bit field; bit 4: discharge overcurrent)"),
    ]),
    *_rules("bms_voltages", [
        ("average_voltage", "V", "Average cell voltage"),
        ("low_voltage", "V", "Lowest cell voltage"),
        ("high_voltage", "V", "Highest cell voltage"),
        ("total_voltage", "V", "Pack voltage: sum of the cell voltages"),
        ("cell_delta", "V", "Spread between the highest and lowest cell voltage"),
        ("low_voltage_cell_id", None, "Cell with the lowest voltage"),
        ("high_voltage_cell_id", None, "Cell with the highest voltage"),
    ]),
    *_rules("bms_temps", [
        ("average_temperature", "degC", "Average cell temperature"),
        ("low_temperature", "degC", "Lowest cell temperature"),
        ("high_temperature", "degC", "Highest cell temperature"),
        ("low_thermistor_id", None, "Thermistor reading the lowest temperature"),
        ("high_thermistor_id", None, "Thermistor reading the highest temperature"),
        ("humidity", "%", "Relative humidity inside the accumulator"),
    ]),
    *_rules("bms_onboard_temps", [
        ("average_temperature", "degC", "Average BMS board temperature"),
        ("low_temperature", "degC", "Lowest BMS board temperature"),
        ("high_temperature", "degC", "Highest BMS board temperature"),
    ]),
    *_rules("bms_detailed_voltages|bms_detailed_temps|bms_onboard_detailed_temps|bms_balancing_status", [
        ("group_id", None, "Cell group of this frame (multiplexer)"),
        ("ic_id", None, "BMS monitoring IC of this frame (multiplexer)"),
    ]),
    *_rules("bms_detailed_voltages", [
        (r"voltage_(?P<n>\d+)", "V", "Voltage of cell {n} of this IC"),
    ]),
    *_rules("bms_detailed_temps", [
        (r"thermistor_id_(?P<n>\d+)", "degC", "Temperature at thermistor {n} of this IC"),
    ]),
    *_rules("bms_onboard_detailed_temps", [
        (r"temperature_(?P<n>\d+)", "degC", "BMS board temperature {n} of this IC"),
    ]),
    *_rules("bms_balancing_status", [
        (r"cell_(?P<n>\d+)_balancing_status", None, "Cell {n} of this group is being balanced"),
    ]),
    *_rules("bms_coulomb_counts", [
        ("total_charge", "Ah", "Charge put back into the pack since power-up (regeneration)"),
        ("total_discharge", "Ah", "Charge drawn from the pack since power-up"),
    ]),
    *_rules("mcu_status", [
        ("mcu_state", None, "Car state machine of the main control unit"),
        ("imd_ok_high", None, "Insulation monitoring device OK"),
        ("bms_ok_high", None, "BMS OK"),
        ("bspd_ok_high", None, "Brake system plausibility device OK"),
        ("software_ok_high", None, "Main control unit software OK"),
        ("shutdown_e_above_threshold", None, "Shutdown circuit E closed (above threshold)"),
        ("brake_pedal_active", None, "Brake pedal pressed"),
        ("inverter_power_enabled", None, "Inverters powered"),
        ("energy_meter_present", None, "Energy meter present"),
        ("launch_ctrl_active", None, "Launch control active"),
        ("max_torque", "Nm", "Torque limit per motor selected on the dashboard"),
        ("torque_mode", None, "Torque mode selected on the dashboard"),
        ("distance_travelled_m", "m", "Distance travelled since power-up"),
        ("bspd_current_high", None, "BSPD: tractive current high (power above 5 kW)"),
        ("bspd_brake_high", None, "BSPD: hard braking"),
        ("no_accel_implausibility", None, "Accelerator pedal sensors agree"),
        ("no_brake_implausibility", None, "Brake pedal sensors agree"),
        ("torque_vectoring_on", None, "Torque vectoring on"),
        ("regen_mode", None, "Regenerative braking mode"),
    ]),
    *_rules("mcu_pedal_readings", [
        (r"accel_pedal_(?P<n>[12])", None, "Accelerator pedal sensor {n}, raw ADC counts"),
        (r"brake_pedal_(?P<n>[12])", None, "Brake pedal sensor {n}, raw ADC counts"),
        ("accel_percent", "%", "Accelerator pedal travel"),
        ("brake_percent", "%", "Brake pedal travel"),
        ("accel_implausible", None, "Accelerator pedal sensors disagree"),
        ("brake_implausible", None, "Brake pedal sensors disagree"),
        ("mechanical_brake_active", None, "Friction brakes applied"),
        ("pedal_counter", None, "Rolling message counter (0-255)"),
    ]),
    *_rules("mcu_analog_readings", [
        ("steering_1", None, "Steering sensor 1, raw counts (negative turning right)"),
        ("steering_2", None, "Steering sensor 2, raw ADC counts"),
        ("hall_effect_current", "A", "Pack current from the hall-effect sensor"),
        ("glv_battery_voltage", "V", "Low-voltage (GLV) battery voltage"),
        ("steering_angle", "deg", "Steering wheel angle, positive turning left"),
        ("shutdown_voltage", "V", "Shutdown circuit voltage"),
        ("ts_voltage", "V", "Tractive system voltage"),
        ("vref", "V", "ADC reference voltage"),
    ]),
    *_rules("mcu_load_cells|sab_load_cells", [
        (rf"{_W}_load_cell", "N", "Vertical load on the {W} wheel (pushrod load cell)"),
        (rf"{_W}_shock_pot", None, "{W} damper position, raw ADC counts"),
    ]),
    *_rules("mcu_front_pots|mcu_rear_pots", [
        (r"pot(?P<n>[1-6])", None, "Potentiometer {n}, raw ADC counts"),
    ]),
    *_rules("dashboard_state", [
        (r"(?P<what>start|mark|mode|mc_cycle|launch_ctrl|torque|led_dimmer)_btn", None,
         "Dashboard button pressed: {what}"),
        ("dial_state", None, "Dashboard mode dial position"),
        (r"(?P<what>ams|imd|mode|mc_error|start|launch_control)_led", None, "Dashboard LED: {what}"),
    ]),
    *_rules("dashboard_mcu_state", [
        (r"(?P<what>.+)_led", None, "Dashboard LED as commanded by the main control unit: {what}"),
        ("ready_to_drive_buzzer", None, "Ready-to-drive buzzer sounding"),
    ]),
    *_rules("tcu_lap_times", [
        ("prev_lap_time_ms", "ms", "Last completed lap time, 0 before the first"),
        ("best_lap_time_ms", "ms", "Best lap time so far, 0 before the first lap"),
        ("lap_clock_state", None, "Lap timer state"),
        ("laps_completed", None, "Laps completed"),
    ]),
    *_rules("tcu_driver_msg", [
        (r"driver_msg_var_(?P<n>\d)", None, "Message to the driver, variable {n}"),
        ("target_lap_time_ms", "ms", "Target lap time shown to the driver"),
    ]),
    *_rules("charger_data", [
        ("output_dc_voltage", "V", "Charger output voltage"),
        ("output_current", "A", "Charger output current"),
        ("flags", None, "Charger status flags"),
        ("input_ac_voltage", "V", "Charger mains voltage"),
    ]),
    *_rules("charger_control", [
        ("max_charging_voltage", "V", "Charging voltage limit sent to the charger"),
        ("max_charging_current", "A", "Charging current limit sent to the charger"),
        ("control", None, "Charger control word"),
    ]),
    *_rules("em_measurement", [
        ("voltage", "V", "Energy meter: tractive system voltage"),
        ("current", "A", "Energy meter: tractive system current"),
        ("power_w", "W", "Energy meter: tractive power"),
        ("energy_wh", "Wh", "Energy meter: energy drawn since power-up"),
        ("min_voltage", "V", "Energy meter: lowest voltage"),
        ("max_current", "A", "Energy meter: highest current"),
    ]),
    *_rules("em_status", [
        ("voltage_gain", None, "Energy meter voltage gain setting"),
        ("current_gain", None, "Energy meter current gain setting"),
        ("overvoltage", None, "Energy meter: overvoltage"),
        ("overpower", None, "Energy meter: power above 40 kW"),
        ("logging", None, "Energy meter logging"),
    ]),
    *_rules("ccu_status", [
        ("charger_enabled", None, "Charge control unit: charger enabled"),
        ("balancing_enabled", None, "Charge control unit: balancing enabled"),
        ("charger_connected", None, "Charge control unit: charger connected"),
        ("ccu_uptime_s", "s", "Charge control unit uptime"),
    ]),
    *_rules("drivetrain_rpms_telem", [
        (rf"{_W}_motor_rpm", "rpm", "{W} motor speed; the right-side motors turn the other way (negative)"),
    ]),
    *_rules("drivetrain_torque_telem", [
        (rf"{_W}_motor_torque", "mNm", "{W} motor torque, negative while regenerating"),
    ]),
    *_rules("drivetrain_status_telem", [
        (rf"{_MC}_dc_on", None, f"{_INV}: DC bus on"),
        (rf"{_MC}_inverter_on", None, f"{_INV}: inverter on"),
    ]),
    *_rules("drivetrain_err_status_telem", [
        (rf"{_MC}_diagnostic_number", None, f"{_INV}: diagnostic number, 0 when none"),
    ]),
    *_rules("acu_shunt_measurements", [
        ("current_shunt_read", "A", "Pack current from the shunt"),
        ("pack_filtered_read", "V", "Pack voltage, filtered"),
        ("ts_out_filtered_read", "V", "Tractive system voltage after the accumulator, filtered"),
        ("shunt_temp", "degC", "Shunt temperature"),
        ("current_raw", None, "Pack current from the shunt, raw counts of 10 mA"),
        ("measurement_ok", None, "Shunt measurement valid"),
    ]),
    *_rules("controller_power_lim", [
        (rf"power_lim_{_W}", "W", "Power limit of the {W} motor"),
        ("target_power", "W", "Total power target"),
        ("power_lim_active", None, "Power limiting active"),
    ]),
    *_rules("controller_boolean", [
        (r"use_(?P<what>.+)", None, "Controller option on: {what}"),
        ("config_mask", None, "Controller configuration bits (bit 63: configuration valid)"),
    ]),
    *_rules("sab_thermistors_1", [
        (rf"thermistor_motor_{_W}", "degC", "{W} motor housing temperature"),
    ]),
    *_rules("sab_thermistors_2", [
        (r"thermistor_acc_(?P<n>\d)", "degC", "Accumulator case temperature {n}"),
        ("thermistor_pump", "degC", "Coolant temperature at the pump"),
        ("thermistor_radiator_in", "degC", "Coolant temperature into the radiator"),
        ("thermistor_radiator_out", "degC", "Coolant temperature out of the radiator"),
        ("thermistor_cabin", "degC", "Cockpit air temperature"),
    ]),
    *_rules("steering_data", [
        ("steering_analog_raw", None, "Analog steering sensor, raw ADC counts"),
        ("steering_digital_raw", None, "Digital steering encoder, raw counts"),
        ("steering_angle", "deg", "Steering wheel angle, positive turning left"),
        ("steering_valid", None, "Steering angle valid"),
        ("encoder_fault", None, "Steering encoder fault"),
        ("analog_supply_v", "V", "Steering sensor supply voltage"),
    ]),
    *_rules("vn_gps_time", [
        ("gps_time_ns", "ns", "GPS time since 1980-01-06 (GPS epoch)"),
        ("gps_week", None, "GPS week number"),
        ("time_of_week_ms", "ms", "Time into the GPS week"),
        ("leap_seconds", "s", "GPS time minus UTC"),
        ("time_valid", None, "GPS time valid"),
    ]),
]


def _fill(text: str, groups: dict[str, str]) -> str:
    values = dict(groups)
    if "mc" in groups:
        values["wheel"] = WHEELS[int(groups["mc"]) - 1]
    if "w" in groups:
        values["W"] = groups["w"].upper()
    if "what" in groups:
        values["what"] = groups["what"].replace("_", " ")
    return text.format(**values)


def signal_info(message: str, signal: str) -> SignalInfo | None:
    """Unit and description of `signal` of `message`; None for a signal no rule names."""
    for rule in RULES:
        m = rule.message.fullmatch(message)
        if m is None:
            continue
        s = rule.signal.fullmatch(signal)
        if s is not None:
            groups = {k: v for k, v in (m.groupdict() | s.groupdict()).items() if v is not None}
            return SignalInfo(rule.unit, _fill(rule.description, groups))
    return None


_MESSAGES: list[tuple[str, str]] = [
    (rf"{_MC}_status", "Inverter {mc} ({wheel}): status and motor speed"),
    (rf"{_MC}_temps", "Inverter {mc} ({wheel}): temperatures"),
    (rf"{_MC}_energy", "Inverter {mc} ({wheel}): DC bus, power and energy"),
    (rf"{_MC}_setpoints_command", "Inverter {mc} ({wheel}): setpoints from the main control unit"),
    (rf"{_MC}_torque_command", "Inverter {mc} ({wheel}): torque command from the main control unit"),
    (r"(?P<c>lf|lr|rf|rr)_ttpms_1", "{C} tyre sensor: pressure and battery"),
    (r"(?P<c>lf|lr|rf|rr)_ttpms_[2-5]", "{C} tyre sensor: surface temperatures across the tread"),
    (r"(?P<c>lf|lr|rf|rr)_ttpms_6", "{C} tyre sensor: node status"),
    (r"bms_.+", "Battery management system"),
    (r"mcu_.+", "Main control unit"),
    (r"dashboard_.+", "Dashboard"),
    (r"tcu_.+", "Telemetry control unit: lap timing and driver messages"),
    (r"charger_.+", "Off-car charger (idle on track)"),
    (r"em_.+", "Energy meter (competition data logger)"),
    (r"ccu_.+", "Charge control unit"),
    (r"drivetrain_.+", "Drivetrain summary for telemetry"),
    (r"acu_.+", "Accumulator control unit: shunt measurements"),
    (r"controller_.+", "Torque controller settings"),
    (r"sab_.+", "Sensor acquisition board"),
    (r"steering_.+", "Steering sensors"),
    (r"vn_.+", "GPS/INS (VectorNav) time"),
]


def message_description(message: str) -> str | None:
    for pattern, text in _MESSAGES:
        m = re.fullmatch(pattern, message)
        if m is not None:
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            if "c" in groups:
                groups["C"] = groups["c"].upper()
            return _fill(text, groups)
    return None
