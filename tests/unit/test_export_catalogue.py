"""Units, descriptions and state names in every export (issue 23).

On the team's real file and CAN description: the catalogue resolves what the .sym says of the
file's signals (plus one edit that gives a signal a description and state names), the export
writes it, and each format is read back with its own reader (scipy / h5py, pyarrow, zipfile +
csv). The oracle reads the .sym text with regular expressions, not cantools: the `{SIGNALS}`
definitions give units (`/u:mbar`), the `[MESSAGE]` blocks which signals a message carries,
the `Enum=` lines state names, `//` comments descriptions.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from export_support import load_v5, load_v73, rows_of, sample_recording
from testsupport import symtext

from pitwall.common.columns import Recording, Signal, TopicColumns
from pitwall.common.events import ConversionRequested
from pitwall.converter.worker import request_key, selection_of, unmatched_globs
from pitwall.export.recording import ExportParams, ExportResult, export_recording

HYTECH = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "hytech"
MCAP = HYTECH / "03_26_2024_23_10_23_RECOVERED_V2.mcap"
SYM = HYTECH / "hytech-2024-03-26.sym"
_absent = pytest.mark.skipif(
    not (MCAP.is_file() and SYM.is_file()), reason="the team's files are not in ../shared/data/hytech"
)


def uses_hytech(test: Any) -> Any:
    return pytest.mark.hytech(_absent(test))

# The signal the test's catalogue edit describes (the .sym gives it no unit, names or comment).
EDITED = "mc1_torque_command_data:torque_command"
ENUM = "dial_stateE"  # its state names, taken from this enum of the .sym
COMMENTED = "accel_percent_float"  # its description, taken from this signal's comment


# -- the oracle: the .sym text read with regular expressions ---------------------------


@cache
def sym_text() -> str:
    return SYM.read_text(encoding="utf-8")


def sym_units() -> dict[str, str | None]:
    return symtext.sym_units(SYM)


def sym_messages() -> dict[str, set[str]]:
    """Message name (upper case) -> the names (upper case) of the signals it carries."""
    return {name.upper(): {s.upper() for s in sigs} for name, sigs in symtext.sym_messages(SYM).items()}


def sym_enum(name: str) -> dict[int, str]:
    return symtext.sym_enum(SYM, name)


def sym_comment(signal: str) -> str:
    found = symtext.sym_comment(SYM, signal)
    assert found, signal
    return found


def expected_unit(key: str) -> str:
    """The matching rule of the README, on the topic: `x_data` is message `X`, a field is
    the message's signal of the same name, ignoring case."""
    topic, path = key.split(":", 1)
    carried = sym_messages().get(topic.removesuffix("_data").upper(), set())
    units = {name.upper(): unit for name, unit in sym_units().items()}
    leaf = path.rsplit(".", 1)[-1].upper()
    return (units.get(leaf) or "") if leaf in carried else ""


def expected_description(key: str) -> str:
    return sym_comment(COMMENTED) if key == EDITED else ""


def expected_states(key: str) -> dict[int, str]:
    return sym_enum(ENUM) if key == EDITED else {}


def base_key(source: str) -> str:
    """`topic:field[3]` (a repeated element's column) -> its signal's key."""
    return re.sub(r"\[\d+\]$", "", source)


# -- the product: the catalogue's info for the file, then the export -------------------


@cache
def hytech_recording() -> Recording:
    from pitwall.common.mcapread import read_recording

    return read_recording(MCAP)


@cache
def hytech_info() -> dict[str, Any]:
    from pitwall.common.catalogue import Catalogue, load_can_source

    rec = hytech_recording()
    assert rec.origin_ns is not None
    states = {str(code): label for code, label in sym_enum(ENUM).items()}
    catalogue = Catalogue(
        sources=(load_can_source(SYM.read_bytes(), SYM.name),),
        edits={EDITED: {"description": sym_comment(COMMENTED), "states": states}},
    )
    return catalogue.for_run(
        datetime.fromtimestamp(rec.origin_ns / 1e9, tz=UTC),
        {tc.topic: tc.schema_name for tc in rec.topics.values()},
        [f"{tc.topic}:{p}" for tc in rec.topics.values() for p in tc.signals],
    )


def export(out: Path, rec: Recording | None = None, info: dict[str, Any] | None = None, **kw: Any) -> ExportResult:
    return export_recording(
        rec or hytech_recording(),
        out,
        ExportParams(signal_info=hytech_info() if info is None else info, **kw),
        source_name="run.mcap",
        source_sha256=None,
    )


def load_mat(path: Path, result: ExportResult) -> dict[str, Any]:
    return load_v5(path) if result.format == "mat" else load_v73(path)


def states_at(meta: dict[str, Any], mat_path: str) -> tuple[list[int], list[str], np.dtype]:
    """What `meta.states` holds for the signal read by `mat_path` (the same field path, without
    the pairs layout's `data.` and a column index)."""
    node: Any = meta["states"]
    for part in re.sub(r"\(:,\d+\)$", "", mat_path).removeprefix("data.").split("."):
        node = node[part]
    codes = np.asarray(node["codes"])
    names = [str(x) for x in np.asarray(node["names"]).reshape(-1)]
    return [int(c) for c in codes.reshape(-1)], names, codes.dtype


def leaves(tree: Any, prefix: str = "") -> set[str]:
    """The paths of the `{codes, names}` structs in `meta.states`."""
    if isinstance(tree, dict) and "codes" in tree and "names" in tree:
        return {prefix}
    if not isinstance(tree, dict):
        return set()
    return {p for k, v in tree.items() for p in leaves(v, f"{prefix}.{k}" if prefix else k)}


# -- MAT -----------------------------------------------------------------------------


@uses_hytech
@pytest.mark.parametrize("layout", ["struct", "pairs"])
@pytest.mark.parametrize("fmt", ["mat", "mat73"])
def test_mat_signal_map_and_states_say_what_the_sym_says(fmt: str, layout: str, tmp_path: Path) -> None:
    out = tmp_path / "run.mat"
    result = export(out, format=fmt, layout=layout)
    got = load_mat(out, result)
    smap = got["signal_map"]
    assert smap.shape[1] == 4  # source_path, mat_path, unit, description
    rows = rows_of(smap)
    assert len(rows) == 24
    for source, mat_path, unit, description in rows:
        key = base_key(source)
        assert unit == expected_unit(key), source
        assert description == expected_description(key), source
        assert mat_path.startswith("data." if layout == "pairs" else key.split(":")[0])
    units = [r[2] for r in rows]
    assert units.count("mbar") == 8 and units.count("mV") == 4  # P and P_GAUGE, BAT_V of 4 tyres

    meta = got["meta"]
    edited = next(r for r in rows if r[0] == EDITED)
    codes, names, dtype = states_at(meta, edited[1])
    assert dict(zip(codes, names, strict=True)) == sym_enum(ENUM) and codes == sorted(codes)
    assert dtype == np.int32
    assert len(leaves(meta["states"])) == 1  # no other signal has state names
    enums = [(r[0], int(np.asarray(r[1]).reshape(-1)[0]), r[2]) for r in rows_of(meta["enums"])]
    assert enums == [(EDITED, c, n) for c, n in sorted(sym_enum(ENUM).items())]


@pytest.mark.parametrize("layout", ["struct", "pairs"])
@pytest.mark.parametrize("fmt", ["mat", "mat73"])
def test_mat_states_fall_back_to_protobuf_enum_names_and_repeated_elements_share_a_unit(
    fmt: str, layout: str, tmp_path: Path
) -> None:
    rec = sample_recording()
    enum_names = rec.topics["VNData"].signals["status"].enum_names
    assert enum_names
    # Without a catalogue: the enum's own names, nothing else.
    out = tmp_path / "plain.mat"
    plain = load_mat(out, export(out, rec, {}, format=fmt, layout=layout))
    status = next(r for r in rows_of(plain["signal_map"]) if r[0] == "VNData:status")
    codes, names, _ = states_at(plain["meta"], status[1])
    assert dict(zip(codes, names, strict=True)) == enum_names
    assert {r[2] for r in rows_of(plain["signal_map"])} == {""}

    # The catalogue's names replace the enum's; a repeated field's elements all carry its
    # unit and its names (the pairs layout: one struct per element column).
    info = {
        "VNData:status": {"states": {"7": "ON", "0": "OFF"}},
        "meta:cells.voltage": {"unit": "V", "description": "cell voltage", "states": {"0": "EMPTY"}},
    }
    out = tmp_path / "info.mat"
    got = load_mat(out, export(out, rec, info, format=fmt, layout=layout))
    rows = rows_of(got["signal_map"])
    status = next(r for r in rows if r[0] == "VNData:status")
    codes, names, _ = states_at(got["meta"], status[1])
    assert (codes, names) == ([0, 7], ["OFF", "ON"])
    cells = [r for r in rows if r[0].startswith("meta:cells.voltage[")]
    assert len(cells) == 5 and all(r[2:] == ("V", "cell voltage") for r in cells)
    for r in cells:
        assert states_at(got["meta"], r[1])[:2] == ([0], ["EMPTY"])
    expected_leaves = 2 if layout == "struct" else 1 + len(cells)
    assert len(leaves(got["meta"]["states"])) == expected_leaves


# -- Parquet -------------------------------------------------------------------------


def _check_field(key: str, metadata: dict[bytes, bytes] | None) -> None:
    meta = {k.decode(): v.decode() for k, v in (metadata or {}).items()}
    assert meta.get("unit", "") == expected_unit(key), key
    assert meta.get("description", "") == expected_description(key), key
    states = json.loads(meta["states"]) if "states" in meta else {}
    assert {int(c): n for c, n in states.items()} == expected_states(key), key


@uses_hytech
@pytest.mark.parametrize("resample", [None, 20.0], ids=["per-topic", "resampled"])
def test_parquet_fields_carry_unit_description_and_states(resample: float | None, tmp_path: Path) -> None:
    result = export(tmp_path / "run.parquet", format="parquet", resample_hz=resample)
    files = [f for f in result.files if f.suffix == ".parquet"]
    checked = 0
    for f in files:
        schema = pq.read_schema(f)
        topic = json.loads(schema.metadata[b"pitwall.meta"]).get("topic")
        for field in schema:
            if field.name in ("t", "log_time_ns"):
                assert not field.metadata
                continue
            _check_field(field.name if topic is None else f"{topic}:{field.name}", field.metadata)
            checked += 1
    assert checked == 24
    units = [(f.metadata or {}).get(b"unit") for p in files for f in pq.read_schema(p)]
    assert units.count(b"mbar") == 8


# -- CSV -----------------------------------------------------------------------------


@uses_hytech
@pytest.mark.parametrize("resample", [None, 20.0], ids=["per-topic", "resampled"])
def test_csv_zip_lists_every_signal_column_in_signals_csv(resample: float | None, tmp_path: Path) -> None:
    out = tmp_path / "run.zip"
    export(out, format="csv", resample_hz=resample)
    with zipfile.ZipFile(out) as zf:
        listing = list(csv.reader(io.StringIO(zf.read("signals.csv").decode("utf-8"))))
        meta = json.loads(zf.read("meta.json"))
        headers = {
            name.removesuffix(".csv"): next(csv.reader(io.StringIO(zf.read(name).decode())))
            for name in zf.namelist()
            if name.endswith(".csv") and name != "signals.csv"
        }
    assert listing[0] == ["key", "column", "unit", "description", "states"]
    rows = listing[1:]
    file_of = {t["topic"]: t["name"] for t in meta["topics"]}
    data_columns = sum(len([c for c in h if c not in ("t", "log_time_ns")]) for h in headers.values())
    assert len(rows) == data_columns == 24
    for key, column, unit, description, states in rows:
        header = headers["run"] if resample else headers[file_of[key.split(":")[0]]]
        assert column in header, (key, column)
        assert unit == expected_unit(key), key
        assert description == expected_description(key), key
        assert {int(c): n for c, n in json.loads(states or "{}").items()} == expected_states(key), key


def test_a_topic_called_signals_leaves_signals_csv_to_the_listing(tmp_path: Path) -> None:
    t = np.arange(3, dtype=np.int64) + 10
    rec = Recording(
        topics={
            "signals": TopicColumns("signals", "S", "protobuf", t, {"x": Signal("x", "double", np.ones(3))}),
            "other": TopicColumns("other", "O", "protobuf", t, {"y": Signal("y", "int32", np.zeros(3, np.int32))}),
        },
        origin_ns=10,
        message_count=6,
    )
    out = tmp_path / "run.zip"
    export(out, rec, {"signals:x": {"unit": "m"}}, format="csv")
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["meta.json", "other.csv", "signals.csv", "signals_2.csv"]
        listing = list(csv.reader(io.StringIO(zf.read("signals.csv").decode())))
        data = zf.read("signals_2.csv").decode().splitlines()
    assert listing[1:] == [["signals:x", "x", "m", "", ""], ["other:y", "y", "", "", ""]]
    assert data[0] == '"t","log_time_ns","x"' and len(data) == 4


def test_a_lone_csv_says_the_units_need_a_zip(tmp_path: Path) -> None:
    rec = sample_recording()
    one = Recording(topics={"VNData": rec.topics["VNData"]}, origin_ns=rec.origin_ns, message_count=50)
    told = export(tmp_path / "a.csv", one, {"VNData:ypr.yaw": {"unit": "rad"}}).warnings
    assert any("signals.csv" in w and ".zip" in w for w in told)
    # Info about signals not written, or none at all: nothing to say.
    assert export(tmp_path / "b.csv", one, {"meta:state": {"unit": "x"}}).warnings == []
    assert export(tmp_path / "c.csv", one, {}).warnings == []


# -- pitwall convert --can -----------------------------------------------------------


def _convert(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pitwall.cli.main", "convert", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@uses_hytech
def test_convert_with_can_puts_the_sym_units_into_the_mat(tmp_path: Path) -> None:
    out = tmp_path / "run.mat"
    proc = _convert(MCAP, "-o", out, "--can", SYM)
    assert proc.returncode == 0, proc.stderr
    rows = rows_of(load_v5(out)["signal_map"])
    assert len(rows) == 24
    assert [r[2] for r in rows] == [expected_unit(base_key(r[0])) for r in rows]
    assert sum(1 for r in rows if r[2]) == 12


@uses_hytech
def test_convert_refuses_a_can_file_it_cannot_read_in_one_line(tmp_path: Path) -> None:
    # The team's file cut off before its signals and messages (a bad download).
    bad = tmp_path / "car.sym"
    bad.write_text(sym_text()[: sym_text().index("{SIGNALS}")], encoding="utf-8")
    for can in (bad, tmp_path / "missing.sym"):
        out = tmp_path / "run.mat"
        proc = _convert(MCAP, "-o", out, "--can", can)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr
        assert lines[0].startswith("pitwall convert: error: --can ")
        assert can.name in lines[0]
        assert not out.exists()


# -- the converter: aliases select, the catalogue's info keys the cache ----------------

RUN = "a" * 64


def test_a_requested_key_selects_the_run_signal_under_an_alias() -> None:
    req = ConversionRequested(
        job_id="j", runs=[RUN], signals=["BMS:pack_v", "BMS:gone"], aliases={"BMS:pack_v": ["BMS:pack_voltage"]}
    )
    selection = selection_of(req)
    assert selection.wants_signal("BMS", "pack_voltage") and selection.wants_signal("BMS", "pack_v")
    assert not selection.wants_signal("BMS", "pack_voltage_2")
    # The old name satisfies the request; a glob with no alias and no match is still named.
    assert unmatched_globs(req, selection, [("BMS", "pack_voltage")]) == {"BMS:gone"}
    # A glob over the new names brings in the old name of each key it matches.
    wide = req.model_copy(update={"signals": ["BMS:pack_*"]})
    assert selection_of(wide).wants_signal("BMS", "pack_voltage")
    assert not unmatched_globs(wide, selection_of(wide), [("BMS", "pack_voltage")])


def test_the_cache_key_follows_what_the_export_writes() -> None:
    plain = ConversionRequested(job_id="j", runs=[RUN], signals=["A:*"])
    empty = plain.model_copy(update={"catalogue": {RUN: {"A:x": {"origins": {"unit": "edit"}}}}})
    assert request_key(empty) == request_key(plain)  # nothing written: the same export
    mbar = plain.model_copy(update={"catalogue": {RUN: {"A:x": {"unit": "mbar"}}}})
    bar = plain.model_copy(update={"catalogue": {RUN: {"A:x": {"unit": "bar"}}}})
    assert len({request_key(plain), request_key(mbar), request_key(bar)}) == 3
    # What is not written (display names, origins) does not change the export.
    shown = mbar.model_copy(
        update={"catalogue": {RUN: {"A:x": {"unit": "mbar", "display_name": "P", "origins": {"unit": "edit"}}}}}
    )
    assert request_key(shown) == request_key(mbar)
    # Another run's info is not this export's.
    other = plain.model_copy(update={"catalogue": {"b" * 64: {"A:x": {"unit": "mbar"}}}})
    assert request_key(other) == request_key(plain)
    aliased = plain.model_copy(update={"aliases": {"A:x": ["A:y"]}})
    assert request_key(aliased) != request_key(plain)
