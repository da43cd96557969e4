"""Shared by the test_export_* modules: sample recordings and MAT readers for checking.

The readers are independent of the writers: v5 through scipy.io.loadmat plus a small walk
of the element tree (scipy does not report the logical flag or a cell element's class),
v7.3 through h5py following MATLAB's conventions.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.io as sio

from pitwall.common.columns import Recording, Signal, Skipped, TopicColumns

ORIGIN = 1_714_567_890_123_456_789  # 2024-05-01, with every nanosecond digit set
LONG_TOPIC = "telemetry/" + "very_long_topic_name_" * 4  # > 63 characters


def strings(values: list[str]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def sample_recording() -> Recording:
    """Every Kind, nesting, a repeated field with padding, awkward names, an empty topic."""
    rng = np.random.default_rng(7)
    n = 50
    # Irregular times, spanning ~10 hours so float rounding of t would show.
    gps_t = ORIGIN + np.cumsum(rng.integers(1, 800_000_000_000, n)).astype(np.int64)
    imu_t = ORIGIN + np.arange(0, 3 * n, dtype=np.int64) * 1_000_003 + 1
    bms_t = ORIGIN + 7 + np.arange(4, dtype=np.int64) * 250_000_000
    cells = rng.normal(3.7, 0.1, (4, 5))
    cells[1, 3:] = np.nan  # a shorter row, padded
    vn = TopicColumns(
        "VNData",
        "hytech.VNData",
        "protobuf",
        gps_t,
        {
            "vn_gps.lat": Signal("vn_gps.lat", "double", rng.normal(42.0, 0.01, n)),
            "vn_gps.lon": Signal("vn_gps.lon", "double", rng.normal(-83.0, 0.01, n)),
            "vn_gps.alt": Signal("vn_gps.alt", "single", rng.normal(250, 1, n).astype(np.float32)),
            "ypr.yaw": Signal("ypr.yaw", "single", rng.normal(0, 1, n).astype(np.float32)),
            "status": Signal(
                "status",
                "enum",
                rng.integers(0, 3, n).astype(np.int32),
                enum_names={0: "IDLE", 1: "RUN", 2: "FAULT"},
            ),
            "valid": Signal("valid", "logical", rng.integers(0, 2, n).astype(bool)),
            "t": Signal("t", "double", np.arange(n, dtype=np.float64)),  # a field named t
        },
    )
    ints = TopicColumns(
        "/imu/data",
        "hytech.Imu",
        "protobuf",
        imu_t,
        {
            "count": Signal("count", "uint32", np.arange(3 * n, dtype=np.uint32) * 7 + 2**31),
            "delta": Signal("delta", "int32", (np.arange(3 * n, dtype=np.int32) - 70) * 12345),
            "big": Signal(
                "big",
                "int64",
                np.tile(np.array([-(2**63), 2**63 - 1, 0, -1, 123456789012345678]), 3 * n // 5),
            ),
            "ubig": Signal(
                "ubig",
                "uint64",
                np.full(3 * n, 2**64 - 1, dtype=np.uint64) - np.arange(3 * n, dtype=np.uint64),
            ),
            "a.b": Signal("a.b", "double", np.full(3 * n, 1.0)),
            "a_b": Signal("a_b", "double", np.full(3 * n, 2.0)),
        },
    )
    bms = TopicColumns(
        "meta",  # collides with the meta variable
        "hytech.BMS",
        "protobuf",
        bms_t,
        {
            "cells.voltage": Signal("cells.voltage", "double", cells, repeated=True),
            "state": Signal("state", "string", strings(["IDLE", "", "CHARGING ⚡", "IDLE"])),
            "note.text": Signal("note.text", "string", strings(["ä", "b", "ä", "1ère"])),
        },
    )
    empty = TopicColumns(
        LONG_TOPIC,
        "hytech.Empty",
        "jsonschema",
        np.zeros(0, dtype=np.int64),
        {
            "x": Signal("x", "double", np.zeros(0)),
            "flag": Signal("flag", "logical", np.zeros(0, dtype=bool)),
            "label": Signal("label", "string", strings([])),
            "arr": Signal("arr", "double", np.zeros((0, 0)), repeated=True),
        },
    )
    topics = {tc.topic: tc for tc in (vn, ints, bms, empty)}
    return Recording(
        topics=topics,
        origin_ns=ORIGIN,
        metadata={"setup": {"driver": "Ann", "track": "MIS"}},
        skipped=[Skipped("VNData:raw_bytes", "bytes field", 50)],
        truncated=True,
        lost_tail_bytes=1234,
        message_count=n + 3 * n + 4,
        source_size=98765,
    )


def empty_recording() -> Recording:
    return Recording(topics={}, origin_ns=None, message_count=0)


# -- reading MAT v5 --------------------------------------------------------------------


def _norm_v5(x: Any) -> Any:
    if (
        isinstance(x, np.ndarray)
        and x.shape == (1, 1)
        and isinstance(x[0, 0], sio.matlab.mat_struct)
    ):
        x = x[0, 0]  # a 1 x 1 struct
    if isinstance(x, sio.matlab.mat_struct):
        return {k: _norm_v5(getattr(x, k)) for k in x._fieldnames}
    if isinstance(x, np.ndarray) and x.dtype.kind == "U":
        return str(x[0]) if x.size else ""
    if isinstance(x, np.ndarray) and x.dtype == object:
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            out[idx] = _norm_v5(x[idx])
        return out
    return x


def load_v5(path: Path) -> dict[str, Any]:
    raw = sio.loadmat(path, squeeze_me=False, struct_as_record=False, mat_dtype=False)
    return {k: _norm_v5(v) for k, v in raw.items() if not k.startswith("__")}


MX_NAMES = {1: "cell", 2: "struct", 4: "char", 6: "double", 7: "single", 9: "uint8",
            12: "int32", 13: "uint32", 14: "int64", 15: "uint64"}  # fmt: skip


def _element(buf: bytes, pos: int) -> tuple[int, int, int, int]:
    """(type, nbytes, data start, next element) of the element at pos."""
    (word,) = struct.unpack_from("<I", buf, pos)
    if word >> 16:  # small data element: type and size share the tag
        return word & 0xFFFF, word >> 16, pos + 4, pos + 8
    mi, n = struct.unpack_from("<II", buf, pos)
    return mi, n, pos + 8, pos + 8 + n + (-n % 8)


def _walk(buf: bytes, pos: int, path: str, out: dict[str, tuple[str, tuple[int, ...]]]) -> str:
    mi, _, start, _ = _element(buf, pos)
    assert mi == 14, f"{path}: expected miMATRIX, got {mi}"
    _, _, fstart, p = _element(buf, start)
    flags = struct.unpack_from("<I", buf, fstart)[0]
    _, dn, dstart, p = _element(buf, p)
    dims = struct.unpack_from(f"<{dn // 4}i", buf, dstart)
    _, nn, nstart, p = _element(buf, p)
    name = buf[nstart : nstart + nn].decode()
    path = path or name
    cls = MX_NAMES[flags & 0xFF]
    if flags & 0x200:
        cls = "logical"
    out[path] = (cls, dims)
    if cls == "struct":
        _, _, lstart, p = _element(buf, p)
        fnl = struct.unpack_from("<i", buf, lstart)[0]
        _, fn, fstart2, p = _element(buf, p)
        names = [
            buf[fstart2 + i : fstart2 + i + fnl].split(b"\0")[0].decode() for i in range(0, fn, fnl)
        ]
        for field in names:
            _walk(buf, p, f"{path}.{field}", out)
            p = _element(buf, p)[3]
    elif cls == "cell":
        for i in range(int(np.prod(dims))):
            _walk(buf, p, f"{path}{{{i}}}", out)
            p = _element(buf, p)[3]
    return path


def v5_classes(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Every element's MATLAB class and dims, by path (`VNData.status`, `x.s{3}`)."""
    buf = Path(path).read_bytes()
    assert buf[126:128] == b"IM" and struct.unpack_from("<H", buf, 124)[0] == 0x0100
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    pos = 128
    while pos < len(buf):
        _walk(buf, pos, "", out)
        pos = _element(buf, pos)[3]
    return out


# -- reading MAT v7.3 ------------------------------------------------------------------

H5_DTYPES = {"double": np.float64, "single": np.float32, "int32": np.int32, "uint32": np.uint32,
             "int64": np.int64, "uint64": np.uint64, "logical": np.bool_, "uint8": np.uint8}  # fmt: skip


def _h5_value(f: h5py.File, obj: h5py.Dataset | h5py.Group) -> Any:
    cls = obj.attrs["MATLAB_class"].decode()
    if isinstance(obj, h5py.Group):
        assert cls == "struct"
        fields = [b"".join(x).decode() for x in obj.attrs.get("MATLAB_fields", [])]
        assert fields == list(obj.keys()), "MATLAB_fields must list the fields in order"
        return {k: _h5_value(f, obj[k]) for k in obj}
    data = obj[()]
    if obj.attrs.get("MATLAB_empty", 0):
        dims = tuple(int(d) for d in data)
        if cls == "char":
            return ""
        if cls == "cell":
            return np.empty(dims, dtype=object)
        return np.zeros(dims, dtype=H5_DTYPES[cls])
    if cls == "char":
        assert data.dtype == np.uint16 and obj.attrs["MATLAB_int_decode"] == 2
        return data.T.reshape(-1).tobytes().decode("utf-16-le")
    if cls == "cell":
        refs = data.T  # back to MATLAB (rows, cols)
        out = np.empty(refs.shape, dtype=object)
        for idx in np.ndindex(refs.shape):
            out[idx] = _h5_value(f, f[refs[idx]])
        return out
    if cls == "logical":
        assert data.dtype == np.uint8
        return data.T.astype(bool)
    assert data.dtype == H5_DTYPES[cls], (obj.name, data.dtype, cls)
    return data.T


def load_v73(path: Path) -> dict[str, Any]:
    header = Path(path).read_bytes()[:128]
    assert header.startswith(b"MATLAB 7.3 MAT-file") and header[124:128] == b"\x00\x02IM"
    with h5py.File(path, "r") as f:
        assert f.userblock_size == 512
        return {k: _h5_value(f, f[k]) for k in f if k != "#refs#"}


# -- navigating by signal_map ----------------------------------------------------------

_COLUMN = re.compile(r"^(?P<path>[A-Za-z][\w.]*)(\(:,(?P<k>\d+)\))?$")


def at_mat_path(loaded: dict[str, Any], mat_path: str) -> Any:
    m = _COLUMN.match(mat_path)
    assert m, mat_path
    node: Any = loaded
    for part in m["path"].split("."):
        node = node[part]
    if m["k"] is not None:
        node = node[:, int(m["k"]) - 1 : int(m["k"])]
    return node


def rows_of(cell: np.ndarray) -> list[tuple[Any, ...]]:
    return [tuple(cell[i, j] for j in range(cell.shape[1])) for i in range(cell.shape[0])]
