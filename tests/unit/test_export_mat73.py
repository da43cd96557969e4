"""The MAT v7.3 writer on its own: MATLAB's HDF5 conventions, read back with h5py."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from export_support import load_v73, strings

from pitwall.export.mat73 import write_mat73
from pitwall.export.matvalue import Cell, StrCell


def test_header_userblock_and_classes(tmp_path: Path) -> None:
    path = tmp_path / "x.mat"
    write_mat73(
        path,
        {
            "col": np.arange(4, dtype=np.float64),
            "mat": np.arange(6, dtype=np.int32).reshape(3, 2),
            "flags": np.array([True, False]),
            "s": {"inner": np.uint64(2**64 - 1)},
            "txt": "hi",
        },
    )
    raw = path.read_bytes()
    assert raw[:19] == b"MATLAB 7.3 MAT-file" and raw[124:128] == b"\x00\x02IM"
    assert raw[512:520] == b"\x89HDF\r\n\x1a\n"  # the HDF5 superblock right after the userblock
    with h5py.File(path, "r") as f:
        assert f["col"].shape == (1, 4)  # MATLAB's 4 x 1, axes reversed
        assert f["mat"].shape == (2, 3) and (f["mat"][()].T == np.arange(6).reshape(3, 2)).all()
        assert f["flags"].dtype == np.uint8 and f["flags"].attrs["MATLAB_class"] == b"logical"
        assert f["txt"].dtype == np.uint16 and f["txt"].attrs["MATLAB_class"] == b"char"
        assert f["s"].attrs["MATLAB_class"] == b"struct"
        fields = [b"".join(x).decode() for x in f["s"].attrs["MATLAB_fields"]]
        assert fields == ["inner"]
        assert f["s/inner"][()].item() == 2**64 - 1


def test_string_cells_reference_one_object_per_distinct_string(tmp_path: Path) -> None:
    path = tmp_path / "x.mat"
    values = ["IDLE", "RUN", "IDLE", "", "RUN", "", "😀 emoji", "IDLE"] * 100
    write_mat73(path, {"state": StrCell(strings(values))})
    with h5py.File(path, "r") as f:
        refs = f["state"][()]
        assert refs.shape == (1, len(values))
        assert f["state"].attrs["MATLAB_class"] == b"cell"
        targets = {f[r].name for r in refs.reshape(-1)}
        assert len(targets) == 4  # IDLE, RUN, '' and the emoji: each written once
        assert len(f["#refs#"]) == 4
    got = load_v73(path)["state"]
    assert [got[i, 0] for i in range(len(values))] == values


def test_same_length_strings_do_not_share_data(tmp_path: Path) -> None:
    # strings of one length are cloned from the previous one: each must keep its own text
    path = tmp_path / "x.mat"
    values = [f"s{i:03d}" for i in range(300)]
    write_mat73(path, {"c": StrCell(strings(values))})
    got = load_v73(path)["c"]
    assert [got[i, 0] for i in range(300)] == values


def test_generic_cells_empties_and_nesting(tmp_path: Path) -> None:
    path = tmp_path / "x.mat"
    write_mat73(
        path,
        {
            "mixed": Cell(["k", np.int32(-4), None, np.array([True, False])], (2, 2)),
            "none": Cell([], (0, 3)),
            "nested": {"a": {"b": np.float32(2.5)}, "empty": {}},
            "no_rows": np.zeros((0, 1), dtype=np.int32),
            "blank": "",
        },
    )
    got = load_v73(path)
    mixed = got["mixed"]
    assert mixed.shape == (2, 2)
    assert mixed[0, 0] == "k" and mixed[1, 0].dtype == np.int32 and mixed[1, 0][0, 0] == -4
    assert mixed[0, 1].shape == (0, 0)
    assert mixed[1, 1].dtype == np.bool_ and mixed[1, 1].shape == (2, 1)
    assert got["none"].shape == (0, 3)
    assert got["nested"]["a"]["b"].dtype == np.float32 and got["nested"]["empty"] == {}
    assert got["no_rows"].shape == (0, 1) and got["no_rows"].dtype == np.int32
    assert got["blank"] == ""
