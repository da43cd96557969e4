"""The CAN description `pitwall synth` writes beside its recordings: it loads through the
catalogue, names every CAN-style topic and field by the catalogue's matching rule, and its
units and state names say what synth's numbers are (checked on the numbers themselves).

The DBC text is read twice: by the catalogue (cantools) and by regexes of this file, so a unit
or state lost on the way through cantools shows as a disagreement.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from pitwall.common.catalogue import CanSource, load_can_source, match
from pitwall.synth import GEAR_RATIO, WHEEL_RADIUS_M, topics
from pitwall.synth.can_description import FILENAME, can_database, write_can_description
from pitwall.synth.catalog_can import CAN_ENUMS, can_messages
from pitwall.synth.generator import DRIVER_LIMITS
from pitwall.synth.signals import Ctx
from pitwall.synth.track import make_track, plan_drive
from pitwall.synth.vehicle import CAR_STATES, simulate

_BLOCK = re.compile(r"^BO_ (\d+) (\w+): (\d+) \w+\n((?: SG_ .*\n)+)", re.MULTILINE)
_SG = re.compile(r'^ SG_ (\w+) : (\d+)\|(\d+)@1([+-]) \(([^,]+),([^)]+)\) \[[^]]*\] "([^"]*)"', re.MULTILINE)
_VAL = re.compile(r"^VAL_ (\d+) (\w+) ((?:-?\d+ \"[^\"]*\" )+);", re.MULTILINE)
_PAIR = re.compile(r'(-?\d+) "([^"]*)"')


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, CanSource]:
    path = write_can_description(tmp_path_factory.mktemp("can"))
    assert path.name == FILENAME
    data = path.read_bytes()
    # cantools writes CRLF line ends, as Vector tools do.
    return data.decode().replace("\r\n", "\n"), load_can_source(data, path.name)


@pytest.fixture(scope="module")
def dbc(written: tuple[str, CanSource]) -> dict[str, dict[str, str]]:
    """message -> signal -> unit, read from the DBC text with regexes."""
    text = written[0]
    out = {m[2]: {s[1]: s[7] for s in _SG.finditer(m[4])} for m in _BLOCK.finditer(text)}
    assert len(out) == len(can_messages())
    return out


@pytest.fixture(scope="module")
def dbc_states(written: tuple[str, CanSource]) -> dict[tuple[str, str], dict[int, str]]:
    """(message, signal) -> code -> state name, read from the DBC's VAL_ lines."""
    text = written[0]
    names = {m[1]: m[2] for m in _BLOCK.finditer(text)}
    return {
        (names[v[1]], v[2]): {int(c): n for c, n in _PAIR.findall(v[3])} for v in _VAL.finditer(text)
    }


def _can_topics() -> dict[str, str]:
    """CAN-style topics (flat messages of hytech.proto, no package) -> schema name."""
    return {t.topic: t.schema_name for t in topics() if t.proto is not None and t.proto.name == "hytech.proto"}


def test_every_message_and_signal_matches_a_synth_topic_field(written: tuple[str, CanSource]) -> None:
    source = written[1]
    can = _can_topics()
    assert len(can) == 80 and source.message_count == 80
    keys = [f"{t.topic}:{leaf.path}" for t in topics() for leaf in t.leaves]
    matched = match(source, {t.topic: t.schema_name for t in topics()}, keys)
    can_keys = {k for k in keys if k.split(":")[0] in can}
    # Every field of every CAN-style topic has its signal, and nothing else matched.
    assert set(matched) == can_keys
    assert source.signal_count == len(can_keys) == 648
    # Each message by its topic name alone too (a reader that has no schema names).
    by_name = match(source, {}, keys)
    assert set(by_name) == can_keys


def test_the_catalogue_reads_the_units_and_states_the_text_holds(
    written: tuple[str, CanSource], dbc: dict[str, dict[str, str]],
    dbc_states: dict[tuple[str, str], dict[int, str]],
) -> None:
    for message in written[1].messages:
        for signal in message.signals:
            assert (signal.unit or "") == dbc[message.name][signal.name], (message.name, signal.name)
            assert signal.states == dbc_states.get((message.name, signal.name), {}), signal.name
            assert signal.description, f"{message.name}.{signal.name} has no description"
        assert message.description, message.name


# Units as synth's recipes make the numbers (catalog_can), written out here by hand.
EXPECTED_UNITS = {
    ("mc1_status", "speed_rpm"): "rpm",
    ("mc4_status", "torque_current"): "A",
    ("mc3_temps", "motor_temp"): "degC",
    ("mc2_energy", "dc_bus_voltage"): "V",
    ("mc2_energy", "motor_power"): "W",
    ("mc2_energy", "feedback_torque"): "mNm",
    ("mc2_energy", "total_energy_j"): "J",
    ("mc1_setpoints_command", "torque_setpoint"): "Nm",
    ("mc1_torque_command", "torque_command"): "Nm",
    ("lf_ttpms_1", "LF_TTPMS_P"): "kPa",
    ("lf_ttpms_1", "LF_TTPMS_P_GAUGE"): "kPa",
    ("rr_ttpms_3", "RR_TTPMS_T5"): "degC",
    ("rr_ttpms_6", "RR_TTPMS_RSSI"): "dBm",
    ("bms_status", "current"): "A",
    ("bms_voltages", "total_voltage"): "V",
    ("bms_temps", "humidity"): "%",
    ("bms_coulomb_counts", "total_discharge"): "Ah",
    ("mcu_status", "distance_travelled_m"): "m",
    ("mcu_pedal_readings", "accel_percent"): "%",
    ("mcu_analog_readings", "steering_angle"): "deg",
    ("mcu_load_cells", "fl_load_cell"): "N",
    ("em_measurement", "power_w"): "W",
    ("em_measurement", "energy_wh"): "Wh",
    ("tcu_lap_times", "best_lap_time_ms"): "ms",
    ("drivetrain_rpms_telem", "fr_motor_rpm"): "rpm",
    ("drivetrain_torque_telem", "fl_motor_torque"): "mNm",
    ("ccu_status", "ccu_uptime_s"): "s",
    ("vn_gps_time", "gps_time_ns"): "ns",
    # Counts, ids and raw readings have none.
    ("lf_ttpms_1", "LF_TTPMS_P_RAW"): "",
    ("mcu_pedal_readings", "accel_pedal_1"): "",
    ("bms_voltages", "low_voltage_cell_id"): "",
    ("mc1_status", "status_counter"): "",
}


def test_units_of_named_signals(dbc: dict[str, dict[str, str]]) -> None:
    got = {key: dbc[key[0]][key[1]] for key in EXPECTED_UNITS}
    assert got == EXPECTED_UNITS


_TEMPERATURE = re.compile(r"(^|_)(temp|temperature|TEMP)(_\d+)?$|^thermistor_|_TTPMS_T\d+$")


def test_units_by_kind_of_field(dbc: dict[str, dict[str, str]]) -> None:
    """Booleans and enums have no unit; temperatures are degC, `_rpm` rpm, `_ms` ms, ids none."""
    enums = {e.name for e in CAN_ENUMS}
    checked = 0
    for m in can_messages():
        for name, proto_type, _ in m.signals:
            unit = dbc[m.name][name]
            if proto_type == "bool" or proto_type in enums or re.search(r"(_id|_RAW|counter)$", name):
                assert unit == "", (m.name, name, unit)
            elif _TEMPERATURE.search(name):
                assert unit == "degC", (m.name, name, unit)
            elif name.endswith("_rpm"):
                assert unit == "rpm", (m.name, name, unit)
            elif name.endswith("_ms"):
                assert unit == "ms", (m.name, name, unit)
            else:
                continue
            checked += 1
    assert checked > 400


def test_state_names_are_synth_enum_values_without_their_prefix(
    dbc_states: dict[tuple[str, str], dict[int, str]],
) -> None:
    assert dbc_states[("mcu_status", "mcu_state")] == dict(enumerate(CAR_STATES))
    assert dbc_states[("mcu_status", "mcu_state")][5] == "READY_TO_DRIVE"
    assert dbc_states[("bms_status", "state")] == {0: "IDLE", 1: "DISCHARGING", 2: "CHARGING", 3: "FAULT"}
    assert dbc_states[("tcu_lap_times", "lap_clock_state")] == {0: "STOPPED", 1: "RUNNING", 2: "FINISHED"}
    assert dbc_states[("dashboard_state", "dial_state")][6] == "ENDURANCE"
    enum_fields = {(m.name, n) for m in can_messages() for n, t, _ in m.signals if t.endswith("_e")}
    assert set(dbc_states) == enum_fields


@pytest.fixture(scope="module")
def sampled() -> dict[str, dict[str, np.ndarray]]:
    """Every CAN-style topic's columns on one 20 Hz grid over 90 s (a lap and a half)."""
    duration = 90.0
    rng = np.random.default_rng(5)
    drive = plan_drive(make_track(rng, DRIVER_LIMITS), DRIVER_LIMITS, duration)
    vehicle = simulate(drive, duration, rng)
    t = np.arange(0.0, duration, 0.05)
    can = _can_topics()
    out = {}
    for topic in topics():
        if topic.topic in can:
            columns = topic.generate(Ctx(t, rng, vehicle, duration, 1_700_000_000 * 10**9, {}))
            out[can[topic.topic]] = {k: np.asarray(v) for k, v in columns.items()}
    out["_t"] = {"t": t, "speed": vehicle.at("speed", t)}
    return out


def test_the_units_fit_the_numbers(sampled: dict[str, dict[str, np.ndarray]], dbc: dict[str, dict[str, str]]) -> None:
    t, speed = sampled["_t"]["t"], sampled["_t"]["speed"]
    dt = np.diff(t, prepend=t[0])
    # rpm: the front-left motor turns the wheel through the gear ratio at the ground speed.
    assert dbc["mc1_status"]["speed_rpm"] == "rpm"
    wheel_speed = sampled["mc1_status"]["speed_rpm"] / GEAR_RATIO * 2 * np.pi * WHEEL_RADIUS_M / 60
    fast = speed > 5
    assert np.median(np.abs(wheel_speed[fast] / speed[fast] - 1)) < 0.05
    # kPa: absolute minus gauge pressure is one atmosphere (101.3 kPa; 1013 in mbar).
    assert dbc["lf_ttpms_1"]["LF_TTPMS_P"] == dbc["lf_ttpms_1"]["LF_TTPMS_P_GAUGE"] == "kPa"
    ttpms = sampled["lf_ttpms_1"]
    assert abs(np.median(ttpms["LF_TTPMS_P"] - ttpms["LF_TTPMS_P_GAUGE"]) - 101.3) < 3
    # mNm against Nm: the same motor torque, a thousand times larger.
    assert dbc["drivetrain_torque_telem"]["fl_motor_torque"] == "mNm"
    assert dbc["mc1_torque_command"]["torque_command"] == "Nm"
    milli = sampled["drivetrain_torque_telem"]["fl_motor_torque"]
    newton = sampled["mc1_torque_command"]["torque_command"]
    assert np.median(np.abs(milli / 1000 - newton)) < 0.1 and np.abs(newton).max() > 5
    # Wh and W: the energy meter's energy is its power integrated over hours.
    em = sampled["em_measurement"]
    assert (dbc["em_measurement"]["energy_wh"], dbc["em_measurement"]["power_w"]) == ("Wh", "W")
    assert em["energy_wh"][-1] == pytest.approx(np.sum(em["power_w"] * dt) / 3600, rel=0.02)
    # Ah and A: the charge drawn is the discharge current integrated over hours.
    assert (dbc["bms_coulomb_counts"]["total_discharge"], dbc["bms_status"]["current"]) == ("Ah", "A")
    drawn = np.sum(np.clip(sampled["bms_status"]["current"], 0, None) * dt) / 3600
    assert sampled["bms_coulomb_counts"]["total_discharge"][-1] == pytest.approx(drawn, rel=0.02)
    # V: 126 cells in series make the pack voltage the inverters see.
    assert dbc["bms_voltages"]["average_voltage"] == dbc["mc1_energy"]["dc_bus_voltage"] == "V"
    pack = sampled["mc1_energy"]["dc_bus_voltage"]
    assert np.median(np.abs(sampled["bms_voltages"]["average_voltage"] * 126 - pack)) < 2
    # degC: every temperature is one a car on a summer track day has (not K, not F).
    for message, units in dbc.items():
        for name, unit in units.items():
            if unit == "degC":
                values = sampled[message][name]
                assert 0 < values.min() and values.max() < 130, (message, name)


def test_the_state_signal_walks_to_ready_to_drive(
    sampled: dict[str, dict[str, np.ndarray]], dbc_states: dict[tuple[str, str], dict[int, str]],
) -> None:
    states = dbc_states[("mcu_status", "mcu_state")]
    codes = np.rint(sampled["mcu_status"]["mcu_state"]).astype(int)
    seen = [states[c] for c in np.unique(codes)]
    assert seen == list(CAR_STATES)  # every state, in the order the car powers up
    assert states[int(codes[-1])] == "READY_TO_DRIVE"
    assert np.all(np.diff(codes) >= 0)


def test_every_message_carries_synth_values_in_its_frame(sampled: dict[str, dict[str, np.ndarray]]) -> None:
    """The layout holds the numbers: each frame encodes and decodes them back (floats as float32)."""
    db = can_database()
    for message in db.messages:
        columns = sampled[message.name]
        for row in (0, len(sampled["_t"]["t"]) // 2, -1):
            values = {}
            for s in message.signals:
                v = columns[s.name][row]
                values[s.name] = float(v) if s.is_float else int(np.rint(v))
            frame = db.encode_message(message.frame_id, values, scaling=False)
            assert len(frame) == message.length <= 64
            back = db.decode_message(message.frame_id, frame, decode_choices=False, scaling=False)
            assert isinstance(back, dict)
            for name, v in values.items():
                assert back[name] == pytest.approx(np.float32(v) if isinstance(v, float) else v, rel=1e-6), name


def test_cli_writes_one_description_per_folder(tmp_path: Path) -> None:
    from pitwall.cli.synth import synth

    app = typer.Typer()
    app.command()(synth)
    for seed in (1, 2):
        result = CliRunner().invoke(app, [str(tmp_path / f"run{seed}.mcap"), "--minutes", "0.02", "--seed", str(seed)])
        assert result.exit_code == 0, result.output
        assert f"CAN description: {tmp_path / FILENAME}" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILENAME, "run1.mcap", "run2.mcap"]
    assert load_can_source((tmp_path / FILENAME).read_bytes(), FILENAME).message_count == 80


def test_dev_stack_says_so_and_goes_on_when_the_catalogue_refuses(tmp_path: Path) -> None:
    """`make up` with an API that is not there: one line naming the failure, no exception."""
    from pitwall.common.settings import Settings
    from pitwall.devstack.ports import free_port
    from pitwall.devstack.supervisor import DevStackConfig, Supervisor

    out = io.StringIO()
    sup = Supervisor(DevStackConfig(data_dir=tmp_path), out=out)
    sup.settings = Settings(http_port=free_port(), data_dir=tmp_path)  # nothing listens there
    (tmp_path / "admin-token").write_text("pw_not_used\n")
    sup._add_can_description()
    lines = [line for line in out.getvalue().splitlines() if "CAN description" in line]
    assert len(lines) == 1 and "failed (ConnectError" in lines[0], out.getvalue()
    assert (tmp_path / "samples" / FILENAME).exists()  # written, ready for a later upload
