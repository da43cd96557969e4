"""CSV and Parquet: one wide file when resampled, one file per topic otherwise."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from export_support import LONG_TOPIC, ORIGIN, empty_recording, sample_recording

from pitwall.common.columns import Recording
from pitwall.export.naming import matlab_name
from pitwall.export.recording import (
    ExportError,
    ExportParams,
    ExportResult,
    export_recording,
    resolve_format,
)


def _export(path: Path, **kw: Any) -> ExportResult:
    return export_recording(
        sample_recording(), path, ExportParams(**kw), source_name="r.mcap", source_sha256="ab" * 32
    )


def test_format_comes_from_the_suffix() -> None:
    assert resolve_format(Path("a.mat"), None) == "mat"
    assert resolve_format(Path("a.CSV"), None) == "csv"
    assert resolve_format(Path("a.zip"), None) == "csv"
    assert resolve_format(Path("a.parquet"), None) == "parquet"
    assert resolve_format(Path("a.mat"), "mat73") == "mat73"
    with pytest.raises(ExportError, match="format"):
        resolve_format(Path("a.txt"), None)
    with pytest.raises(ExportError, match="unknown format"):
        resolve_format(Path("a.mat"), "xls")


def test_an_existing_folder_is_not_a_file_name(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="folder"):
        _export(tmp_path, format="mat")
    _export(tmp_path / "pq", format="parquet")  # per-topic Parquet writes into a folder
    assert (tmp_path / "pq" / "VNData.parquet").is_file()


def test_parquet_per_topic_keeps_every_type_and_value(tmp_path: Path) -> None:
    rec = sample_recording()
    result = _export(tmp_path / "run.parquet")
    folder = tmp_path / "run"
    assert folder.is_dir() and set(result.files) == {
        folder / f"{matlab_name(t) if t != '/imu/data' else 'x_imu_data'}.parquet"
        for t in rec.topics
    } | {folder / "meta.json"}
    vn = pq.read_table(folder / "VNData.parquet")
    tc = rec.topics["VNData"]
    assert vn.column_names[:2] == ["t", "log_time_ns"]
    assert (vn["log_time_ns"].to_numpy() == tc.log_time_ns).all()
    assert (np.round(vn["t"].to_numpy() * 1e9).astype(np.int64) == tc.log_time_ns - ORIGIN).all()
    assert vn.column_names[-1] == "t_2"  # the message's own field `t`
    assert tc.signals, "VNData has no signal"
    for path, sig in tc.signals.items():
        col = vn["t_2" if path == "t" else path]
        assert col.to_numpy().tobytes() == sig.values.tobytes(), path
    assert vn.schema.field("vn_gps.alt").type == pa.float32()
    assert vn.schema.field("status").type == pa.int32()
    assert vn.schema.field("valid").type == pa.bool_()
    imu = pq.read_table(folder / "x_imu_data.parquet")
    assert imu.schema.field("ubig").type == pa.uint64()
    assert (
        imu["ubig"].to_numpy().tobytes() == rec.topics["/imu/data"].signals["ubig"].values.tobytes()
    )
    bms = pq.read_table(folder / "meta.parquet")
    assert bms["state"].to_pylist() == ["IDLE", "", "CHARGING ⚡", "IDLE"]
    cells = rec.topics["meta"].signals["cells.voltage"].values
    for k in range(cells.shape[1]):
        assert bms[f"cells.voltage[{k}]"].to_numpy().tobytes() == cells[:, k].tobytes()
    empty = pq.read_table(folder / f"{matlab_name(LONG_TOPIC)}.parquet")
    assert empty.num_rows == 0 and "label" in empty.column_names
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["source_sha256"] == "ab" * 32 and meta["start_time_ns"] == ORIGIN
    assert {s["what"] for s in meta["skipped"]} >= {"VNData:raw_bytes", "tail"}


def test_csv_per_topic_goes_into_a_zip(tmp_path: Path) -> None:
    rec = sample_recording()
    result = _export(tmp_path / "run.csv")
    zpath = tmp_path / "run.zip"
    assert result.files == [zpath]
    assert any("zip" in w for w in result.warnings)
    with zipfile.ZipFile(zpath) as zf:
        names = set(zf.namelist())
        assert names == {
            "VNData.csv",
            "x_imu_data.csv",
            "meta.csv",
            f"{matlab_name(LONG_TOPIC)}.csv",
            "meta.json",
            "signals.csv",
        }
        vn = pacsv.read_csv(io.BytesIO(zf.read("VNData.csv")))
        empty = zf.read(f"{matlab_name(LONG_TOPIC)}.csv").decode().splitlines()
        bms = pacsv.read_csv(
            io.BytesIO(zf.read("meta.csv")),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
        )
    tc = rec.topics["VNData"]
    # floats are written in their shortest exact form: they come back bit for bit
    assert vn["vn_gps.lat"].to_numpy().tobytes() == tc.signals["vn_gps.lat"].values.tobytes()
    assert (vn["log_time_ns"].to_numpy() == tc.log_time_ns).all()
    assert vn["t"].to_numpy().tobytes() == ((tc.log_time_ns - ORIGIN) / 1e9).tobytes()
    assert vn["valid"].to_pylist() == tc.signals["valid"].values.tolist()
    assert bms["state"].to_pylist() == ["IDLE", "", "CHARGING ⚡", "IDLE"]
    assert empty[0].startswith('"t","log_time_ns","x","flag","label"') and len(empty) == 1


def overlapping() -> Recording:
    """/imu/data (1 ns .. 149 ms) and meta (7 ns .. 757 ms): 149 ms in common."""
    rec = sample_recording()
    rec.topics = {t: rec.topics[t] for t in ("/imu/data", "meta")}
    return rec


def _export_wide(path: Path, **kw: Any) -> ExportResult:
    return export_recording(
        overlapping(), path, ExportParams(**kw), source_name="r", source_sha256=None
    )


def test_resampled_gives_one_wide_file(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    result = _export_wide(path, resample_hz=100.0)
    assert result.files == [path]
    table = pacsv.read_csv(path)
    names = table.column_names
    assert names[0] == "t"
    assert "/imu/data:ubig" in names and "meta:cells.voltage[4]" in names and "meta:state" in names
    t = table["t"].to_numpy()
    assert t.tolist() == [k / 100 for k in range(1, 15)]  # whole periods from the origin
    # hold: /imu/data:delta at each grid point is the sample at or before it
    imu = overlapping().topics["/imu/data"]
    rel = imu.log_time_ns - ORIGIN
    idx = np.searchsorted(rel, np.round(t * 1e9).astype(np.int64), side="right") - 1
    assert (table["/imu/data:delta"].to_numpy() == imu.signals["delta"].values[idx]).all()


def test_resampled_csv_named_zip_is_a_zip_with_meta(tmp_path: Path) -> None:
    path = tmp_path / "wide.zip"
    _export_wide(path, resample_hz=100.0)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["meta.json", "signals.csv", "wide.csv"]
        table = pacsv.read_csv(io.BytesIO(zf.read("wide.csv")))
        assert json.loads(zf.read("meta.json"))["export"]["resample_hz"] == 100.0
    assert table.column_names[0] == "t" and table.num_rows == 14


def test_resampled_parquet_is_one_file_with_native_types(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    _export_wide(path, resample_hz=100.0)
    table = pq.read_table(path)
    assert table.schema.field("/imu/data:delta").type == pa.int32()  # hold keeps types
    assert table.schema.field("meta:state").type == pa.string()
    meta = json.loads(table.schema.metadata[b"pitwall.meta"])
    assert meta["export"]["resample_hz"] == 100.0 and meta["export"]["format"] == "parquet"
    assert table.num_rows == 14


def test_no_messages_gives_empty_but_valid_outputs(tmp_path: Path) -> None:
    for name in ("e.zip", "e.parquet"):
        result = export_recording(
            empty_recording(), tmp_path / name, ExportParams(), source_name="e", source_sha256=None
        )
        assert result.messages == 0 and result.files
    with zipfile.ZipFile(tmp_path / "e.zip") as zf:
        assert zf.namelist() == ["meta.json", "signals.csv"]
    assert json.loads((tmp_path / "e" / "meta.json").read_text())["start_time_ns"] is None
