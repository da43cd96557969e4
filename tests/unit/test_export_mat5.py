"""The MAT v5 writer on its own: scipy reads what it writes, and the v5 -> v7.3 switch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io as sio
from export_support import load_v5, load_v73, sample_recording, strings, v5_classes

from pitwall.export import mat5
from pitwall.export.mat5 import V5LimitError, oversize_variables, write_mat5
from pitwall.export.matvalue import Cell, StrCell
from pitwall.export.recording import ExportParams, export_recording


def test_scipy_reads_back_what_savemat_would_have_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    value = {
        "f64": rng.normal(size=1000),
        "f32": rng.normal(size=7).astype(np.float32),
        "i8": np.array([-128, 127], dtype=np.int8),
        "u16": np.array([0, 65535], dtype=np.uint16),
        "i64": np.array([-(2**63), 2**63 - 1], dtype=np.int64),
        "u64": np.array([2**64 - 1], dtype=np.uint64),
        "mat": rng.normal(size=(5, 3)),  # N x K, written column-major
        "fortran": np.asfortranarray(rng.normal(size=(4, 2))),
        "scalar": np.float64(np.pi),
        "nan": np.array([np.nan, -0.0, np.inf]),
    }
    mine, theirs = tmp_path / "mine.mat", tmp_path / "theirs.mat"
    write_mat5(mine, {"v": value})
    sio.savemat(theirs, {"v": value}, oned_as="column")
    a, b = load_v5(mine)["v"], load_v5(theirs)["v"]
    assert list(a) == list(b)
    assert list(a), "the struct came back with no field"
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert a[key].shape == b[key].shape, key
        assert a[key].tobytes() == b[key].tobytes(), key


def test_cells_structs_chars_and_empties(tmp_path: Path) -> None:
    path = tmp_path / "x.mat"
    cell = strings(["α", "", "plain", "α", "x" * 1000])
    write_mat5(
        path,
        {
            "s": StrCell(cell),
            "grid": StrCell(np.array([["a", "b"], ["c", ""]], dtype=object)),
            "mixed": Cell(["k", np.int32(-4), None, np.array([True, False])], (2, 2)),
            "nested": {"a": {"b": {"c": np.float32(2.5)}}, "empty": {}},
            "text": "über",
            "nothing": None,
            "no_rows": np.zeros((0, 1), dtype=np.int32),
        },
    )
    got = load_v5(path)
    assert [got["s"][i, 0] for i in range(5)] == list(cell)
    assert got["grid"].shape == (2, 2)
    assert [[got["grid"][i, j] for j in range(2)] for i in range(2)] == [["a", "b"], ["c", ""]]
    assert got["mixed"][0, 0] == "k" and got["mixed"][1, 0].dtype == np.int32
    assert got["mixed"][0, 1].shape == (0, 0)
    assert got["nested"]["a"]["b"]["c"].dtype == np.float32
    assert got["text"] == "über"
    assert got["no_rows"].shape == (0, 1) and got["no_rows"].dtype == np.int32
    classes = v5_classes(path)
    assert classes["mixed{3}"] == ("logical", (2, 1))
    assert classes["s{1}"] == ("char", (0, 0))  # '' is MATLAB's 0 x 0 char
    assert classes["nothing"] == ("double", (0, 0))


def test_oversize_is_decided_from_shapes_without_memory() -> None:
    # 300 M doubles (2.4 GB) as a broadcast view: no memory behind it
    huge = np.broadcast_to(np.float64(0), (300_000_000,))
    fits = np.broadcast_to(np.float64(0), (200_000_000,))  # 1.6 GB
    assert oversize_variables({"a": {"t": huge}, "b": {"t": fits}}) == ["a"]
    assert oversize_variables({"b": {"t": fits, "u": fits}}) == ["b"]  # the struct's total counts
    assert oversize_variables({"b": fits}) == []
    assert oversize_variables({"s": StrCell(strings(["x"] * 10))}) == []


def test_write_refuses_before_touching_the_file(tmp_path: Path) -> None:
    huge = np.broadcast_to(np.float64(0), (300_000_000,))
    path = tmp_path / "x.mat"
    with pytest.raises(V5LimitError) as info:
        write_mat5(path, {"big": huge})
    assert info.value.names == ["big"]
    assert not path.exists()


def test_mat_switches_to_v73_with_a_warning_when_v5_cannot_hold_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand in a 4 kB limit for MATLAB's 2 GB so the switch is exercised on a small file.
    monkeypatch.setattr(mat5, "V5_MAX_VARIABLE_BYTES", 4096)
    path = tmp_path / "auto.mat"
    result = export_recording(
        sample_recording(), path, ExportParams(), source_name="r.mcap", source_sha256=None
    )
    assert result.format == "mat73"
    assert any("v7.3" in w for w in result.warnings)
    loaded = load_v73(path)  # raises unless it is a MATLAB v7.3 file
    assert loaded["meta"]["export"]["format"] == "mat73"
    assert not path.with_name("auto.mat.partial").exists()


def test_mat_stays_v5_when_it_fits(tmp_path: Path) -> None:
    path = tmp_path / "small.mat"
    result = export_recording(
        sample_recording(), path, ExportParams(), source_name="r.mcap", source_sha256=None
    )
    assert result.format == "mat" and result.warnings == []
    assert path.read_bytes()[:19] == b"MATLAB 5.0 MAT-file"
    assert result.bytes == path.stat().st_size
