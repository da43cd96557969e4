"""`--layout pairs`: the team's `data.<topic>.<leaf>` = [t value], on the single origin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from export_support import ORIGIN, at_mat_path, load_v5, load_v73, rows_of, sample_recording

from pitwall.export.recording import ExportParams, export_recording


@pytest.fixture(params=["mat", "mat73"])
def pairs(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "pairs.mat"
    params = ExportParams(format=request.param, layout="pairs")
    export_recording(sample_recording(), path, params, source_name="r.mcap", source_sha256=None)
    return load_v5(path) if request.param == "mat" else load_v73(path)


def test_top_level_is_data_signal_map_meta(pairs: dict[str, Any]) -> None:
    assert set(pairs) == {"data", "signal_map", "meta"}
    assert set(pairs["data"]) >= {"VNData", "x_imu_data", "meta"}  # no reserved names inside data


def test_each_leaf_is_t_and_value_as_double(pairs: dict[str, Any]) -> None:
    rec = sample_recording()
    lat = pairs["data"]["VNData"]["vn_gps_lat"]
    tc = rec.topics["VNData"]
    assert lat.shape == (tc.count, 2) and lat.dtype == np.float64
    assert (np.round(lat[:, 0] * 1e9).astype(np.int64) == tc.log_time_ns - ORIGIN).all()
    assert lat[:, 1].tobytes() == tc.signals["vn_gps.lat"].values.tobytes()
    status = pairs["data"]["VNData"]["status"]
    assert (status[:, 1] == tc.signals["status"].values).all()
    valid = pairs["data"]["VNData"]["valid"]
    assert (valid[:, 1] == tc.signals["valid"].values.astype(float)).all()


def test_one_origin_for_all_topics(pairs: dict[str, Any]) -> None:
    rec = sample_recording()
    imu = pairs["data"]["x_imu_data"]["delta"]
    # /imu/data starts 1 ns after the origin, VNData later: both measured from the origin
    assert imu[0, 0] == pytest.approx(1e-9, abs=1e-15)
    first_gps = (rec.topics["VNData"].log_time_ns[0] - ORIGIN) / 1e9
    assert pairs["data"]["VNData"]["vn_gps_lat"][0, 0] == first_gps


def test_nested_paths_join_with_underscores_and_collisions_are_numbered(
    pairs: dict[str, Any],
) -> None:
    imu = pairs["data"]["x_imu_data"]
    assert (imu["a_b"][:, 1] == 2.0).all()  # the field really called a_b keeps the name
    assert (imu["a_b_2"][:, 1] == 1.0).all()  # a.b, joined, gets the suffix
    vn = pairs["data"]["VNData"]
    assert "ypr_yaw" in vn and "t" in vn  # a field named t is fine here


def test_repeated_fields_give_one_pair_per_element(pairs: dict[str, Any]) -> None:
    cells = sample_recording().topics["meta"].signals["cells.voltage"].values
    bms = pairs["data"]["meta"]
    for k in range(cells.shape[1]):
        assert bms[f"cells_voltage_{k + 1}"][:, 1].tobytes() == cells[:, k].tobytes()
    smap = {row[0]: row[1] for row in rows_of(pairs["signal_map"])}
    assert smap["meta:cells.voltage[2]"] == "data.meta.cells_voltage_3(:,2)"


def test_signal_map_reaches_every_value_column(pairs: dict[str, Any]) -> None:
    rec = sample_recording()
    rows = rows_of(pairs["signal_map"])
    assert rows, "an empty signal_map"
    for src, mat_path, *_ in rows:
        topic, path = src.rsplit(":", 1)
        sig = rec.topics[topic].signals[path.split("[")[0]]
        col = at_mat_path(pairs, mat_path)
        expected = sig.values[:, int(path[:-1].split("[")[1])] if sig.repeated else sig.values
        assert col.shape == (rec.topics[topic].count, 1)
        assert col[:, 0].tobytes() == expected.astype(np.float64).tobytes(), src


def test_strings_are_left_out_and_said_so(pairs: dict[str, Any]) -> None:
    bms = pairs["data"]["meta"]
    assert "state" not in bms and "note_text" not in bms
    skipped = {r[0]: r[1] for r in rows_of(pairs["meta"]["skipped"])}
    assert "string" in skipped["meta:state"] and "string" in skipped["meta:note.text"]
    sources = {r[0] for r in rows_of(pairs["signal_map"])}
    assert "meta:state" not in sources
