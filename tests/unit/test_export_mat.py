"""The MAT contract, struct layout, read back from MAT v5 (scipy) and v7.3 (h5py)."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from export_support import (
    LONG_TOPIC,
    ORIGIN,
    at_mat_path,
    empty_recording,
    load_v5,
    load_v73,
    rows_of,
    sample_recording,
    v5_classes,
)

from pitwall.common.columns import Recording
from pitwall.export.naming import matlab_name
from pitwall.export.recording import ExportParams, ExportResult, export_recording

SHA = "0123456789abcdef" * 4
KIND_CLASS = {
    "double": "double",
    "single": "single",
    "int32": "int32",
    "uint32": "uint32",
    "int64": "int64",
    "uint64": "uint64",
    "logical": "logical",
    "enum": "int32",
    "string": "cell",
}
KIND_DTYPE = {
    "double": np.float64,
    "single": np.float32,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
    "logical": np.bool_,
    "enum": np.int32,
}


def export(rec: Recording, path: Path, fmt: str, **kw: Any) -> tuple[ExportResult, dict[str, Any]]:
    result = export_recording(
        rec, path, ExportParams(format=fmt, **kw), source_name="run_042.mcap", source_sha256=SHA
    )
    loaded = load_v5(path) if result.format == "mat" else load_v73(path)
    return result, loaded


@pytest.fixture(params=["mat", "mat73"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sample(tmp_path: Path, fmt: str) -> tuple[Recording, ExportResult, dict[str, Any], Path]:
    rec = sample_recording()
    path = tmp_path / "out.mat"
    result, loaded = export(rec, path, fmt)
    assert result.format == fmt
    return rec, result, loaded, path


def _source(src: str) -> tuple[str, str, int | None]:
    topic, path = src.rsplit(":", 1)
    m = re.fullmatch(r"(.*)\[(\d+)\]", path)
    return (topic, m[1], int(m[2])) if m else (topic, path, None)


def test_every_signal_is_in_signal_map_and_bit_exact(sample: Any, fmt: str) -> None:
    rec, _, loaded, _ = sample
    smap = rows_of(loaded["signal_map"])
    # source_path, mat_path, then (issue 23) unit and description
    assert loaded["signal_map"].shape == (len(smap), 4)
    expected_sources = {
        f"{topic}:{sig.path}" + (f"[{i}]" if sig.repeated else "")
        for topic, tc in rec.topics.items()
        for sig in tc.signals.values()
        for i in range(sig.width if sig.repeated else 1)
    }
    assert {row[0] for row in smap} == expected_sources
    assert len(smap) == len(expected_sources)
    assert smap, "an empty signal_map"
    for src, mat_path, *_ in smap:
        topic, path, element = _source(src)
        sig = rec.topics[topic].signals[path]
        n = rec.topics[topic].count
        actual = at_mat_path(loaded, mat_path)
        if sig.kind == "string":
            assert actual.shape == (n, 1), src
            assert [actual[i, 0] for i in range(n)] == list(sig.values), src
            continue
        expected = sig.values if element is None else sig.values[:, element]
        assert actual.shape == (n, 1), src
        if sig.kind == "logical" and fmt == "mat":
            assert (
                actual.dtype == np.uint8
            )  # scipy's reading of a logical; the class is checked below
            actual = actual.astype(bool)
        assert actual.dtype == KIND_DTYPE[sig.kind if not sig.repeated else "double"], src
        assert actual[:, 0].tobytes() == np.ascontiguousarray(expected).tobytes(), src


def test_repeated_field_is_n_by_k_with_nan_padding(sample: Any) -> None:
    rec, _, loaded, _ = sample
    voltage = loaded["meta_2"]["cells"]["voltage"]
    expected = rec.topics["meta"].signals["cells.voltage"].values
    assert voltage.shape == expected.shape == (4, 5)
    assert voltage.tobytes() == expected.tobytes()
    assert np.isnan(voltage[1, 3:]).all()


def test_t_is_seconds_since_the_one_origin_exact_to_a_nanosecond(sample: Any) -> None:
    rec, _, loaded, _ = sample
    assert rec.topics, "the sample has no topic"
    for topic, tc in rec.topics.items():
        t = loaded[_var(loaded, topic)]["t"]
        assert t.dtype == np.float64 and t.shape == (tc.count, 1)
        rel = tc.log_time_ns - ORIGIN
        for i in range(tc.count):
            err = abs(Fraction(float(t[i, 0])) - Fraction(int(rel[i]), 10**9))
            assert err <= Fraction(1, 10**9), (topic, i, float(err))
        assert (np.round(t[:, 0] * 1e9).astype(np.int64) == rel).all()


def _var(loaded: dict[str, Any], topic: str) -> str:
    rows = rows_of(loaded["meta"]["topics"])
    return {r[0]: r[1] for r in rows}[topic]


def test_top_level_names_follow_the_rule(sample: Any) -> None:
    _, _, loaded, _ = sample
    long_name = matlab_name(LONG_TOPIC)
    assert len(long_name) == 63
    assert set(loaded) == {"VNData", "x_imu_data", "meta_2", long_name, "signal_map", "meta"}
    assert list(loaded["VNData"]) == ["t", "vn_gps", "ypr", "status", "valid", "t_2"]
    assert list(loaded["VNData"]["vn_gps"]) == ["lat", "lon", "alt"]
    assert list(loaded["x_imu_data"]) == ["t", "count", "delta", "big", "ubig", "a", "a_b"]


def test_matlab_classes_as_mapped_v5(tmp_path: Path) -> None:
    rec = sample_recording()
    path = tmp_path / "out.mat"
    _, loaded = export(rec, path, "mat")
    classes = v5_classes(path)
    rows = rows_of(loaded["signal_map"])
    assert rows, "an empty signal_map"
    for src, mat_path, *_ in rows:
        topic, field_path, _ = _source(src)
        sig = rec.topics[topic].signals[field_path]
        leaf = mat_path.split("(")[0]
        cls, dims = classes[leaf]
        assert cls == ("double" if sig.repeated else KIND_CLASS[sig.kind]), src
        assert dims == (rec.topics[topic].count, sig.width), src
        if sig.kind == "string":
            for i, s in enumerate(sig.values):
                assert classes[f"{leaf}{{{i}}}"] == ("char", (1, len(s)) if s else (0, 0))
    assert classes["VNData.t"] == ("double", (50, 1))
    assert classes["signal_map"][0] == "cell"
    assert classes["meta.start_time_ns"] == ("int64", (1, 1))
    assert classes["meta.truncated"] == ("logical", (1, 1))


def test_matlab_classes_as_mapped_v73(tmp_path: Path) -> None:
    import h5py

    rec = sample_recording()
    path = tmp_path / "out.mat"
    _, loaded = export(rec, path, "mat73")
    rows = rows_of(loaded["signal_map"])
    assert rows, "an empty signal_map"
    with h5py.File(path, "r") as f:
        for src, mat_path, *_ in rows:
            topic, field_path, _ = _source(src)
            sig = rec.topics[topic].signals[field_path]
            ds = f[mat_path.split("(")[0].replace(".", "/")]
            cls = ds.attrs["MATLAB_class"].decode()
            assert cls == ("double" if sig.repeated else KIND_CLASS[sig.kind]), src
            if rec.topics[topic].count:
                # MATLAB's N x K is HDF5's K x N
                assert ds.shape == (sig.width, rec.topics[topic].count), src
                if cls == "logical":
                    assert ds.dtype == np.uint8
            else:  # MATLAB's empty: the dims as data
                assert ds.attrs["MATLAB_empty"] == 1
                assert list(ds[()]) == [0, sig.width if not sig.repeated else 0]
        assert f["VNData"].attrs["MATLAB_class"] == b"struct"
        assert f["VNData/t"].shape == (1, 50)


def test_string_cells_hold_each_string(sample: Any) -> None:
    _, _, loaded, _ = sample
    state = loaded["meta_2"]["state"]
    assert [state[i, 0] for i in range(4)] == ["IDLE", "", "CHARGING ⚡", "IDLE"]
    text = loaded["meta_2"]["note"]["text"]
    assert [text[i, 0] for i in range(4)] == ["ä", "b", "ä", "1ère"]


def test_empty_topic_keeps_its_shape_and_types(sample: Any, fmt: str) -> None:
    _, _, loaded, _ = sample
    empty = loaded[matlab_name(LONG_TOPIC)]
    assert empty["t"].shape == (0, 1) and empty["t"].dtype == np.float64
    assert empty["x"].shape == (0, 1) and empty["x"].dtype == np.float64
    assert empty["flag"].shape == (0, 1)
    assert empty["flag"].dtype == (np.uint8 if fmt == "mat" else np.bool_)
    assert empty["label"].shape == (0, 1) and empty["label"].dtype == object
    assert empty["arr"].shape == (0, 0)


def test_meta_says_where_from_and_what_was_skipped(sample: Any, fmt: str) -> None:
    _, _, loaded, _ = sample
    meta = loaded["meta"]
    assert meta["source_file"] == "run_042.mcap"
    assert meta["source_sha256"] == SHA
    start = meta["start_time_ns"]
    assert start.dtype == np.int64 and int(start.reshape(-1)[0]) == ORIGIN
    stamp = dt.datetime.fromtimestamp(ORIGIN // 10**9, tz=dt.UTC)
    assert meta["start_time_iso"] == stamp.strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"
    export_info = meta["export"]
    assert export_info["format"] == fmt
    assert export_info["layout"] == "struct"
    assert export_info["resample_hz"].size == 0  # not resampled: MATLAB's []
    skipped = {r[0]: r for r in rows_of(meta["skipped"])}
    assert skipped["VNData:raw_bytes"][1] == "bytes field"
    assert float(np.asarray(skipped["VNData:raw_bytes"][2]).reshape(-1)[0]) == 50
    assert "1234 bytes" in skipped["tail"][1]
    assert bool(np.asarray(meta["truncated"]).reshape(-1)[0]) is True
    enums = rows_of(meta["enums"])
    assert [(r[0], int(np.asarray(r[1]).reshape(-1)[0]), r[2]) for r in enums] == [
        ("VNData:status", 0, "IDLE"),
        ("VNData:status", 1, "RUN"),
        ("VNData:status", 2, "FAULT"),
    ]
    assert rows_of(meta["metadata"]) == [("setup", "driver", "Ann"), ("setup", "track", "MIS")]
    topics = {r[0]: r for r in rows_of(meta["topics"])}
    assert topics["/imu/data"][1] == "x_imu_data" and topics["/imu/data"][2] == "hytech.Imu"


def test_a_recording_without_messages_still_gives_a_valid_file(tmp_path: Path, fmt: str) -> None:
    result, loaded = export(empty_recording(), tmp_path / "empty.mat", fmt)
    assert set(loaded) == {"signal_map", "meta"}
    assert loaded["signal_map"].shape == (0, 4)
    assert loaded["meta"]["start_time_ns"].size == 0
    assert loaded["meta"]["start_time_iso"] == ""
    assert result.messages == 0 and result.signals == 0


def test_signal_selection_is_recorded(tmp_path: Path, fmt: str) -> None:
    _, loaded = export(
        sample_recording(),
        tmp_path / "sel.mat",
        fmt,
        topics="VN|imu",
        signals=("VNData:vn_gps.*", "*:big"),
        start_s=0.5,
        end_s=100.0,
    )
    e = loaded["meta"]["export"]
    assert e["topics"] == "VN|imu"
    assert [e["signals"][i, 0] for i in range(2)] == ["VNData:vn_gps.*", "*:big"]
    assert float(e["start_s"].reshape(-1)[0]) == 0.5 and float(e["end_s"].reshape(-1)[0]) == 100.0
