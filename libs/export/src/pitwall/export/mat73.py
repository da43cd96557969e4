"""A MATLAB v7.3 writer (HDF5 with MATLAB's userblock and class attributes) via h5py.

How MATLAB lays a v7.3 file out, and what this writer follows:
- a 512-byte userblock whose first 128 bytes are the MAT header (116 bytes of text,
  8 zero bytes, version 0x0200, `IM`);
- arrays are datasets with the axes reversed (MATLAB is column-major: an N x 1 column is
  an HDF5 dataset of shape (1, N)), attribute `MATLAB_class` (fixed-length ASCII);
- logical is uint8 with `MATLAB_class` logical; char is uint16 UTF-16 code units with
  `MATLAB_int_decode` 2;
- an empty array stores its MATLAB dims (uint64) as data, with `MATLAB_empty` = 1;
- a struct is a group (`MATLAB_class` struct, `MATLAB_fields` listing the fields in order);
- a cell is a dataset of object references into `/#refs#`, one object per element.

Strings are the slow part (one HDF5 object per cell element, ~180 µs each through h5py's
high-level API). Here each distinct string of a cell is written once and every element
holding it references the same object; the object is cloned with `H5Ocopy` from the
previous string of the same length (attributes come along) and its data overwritten, which
is about 3x cheaper than creating a dataset and its attributes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import h5py
import numpy as np
from h5py import h5d, h5o, h5r, h5s, h5t

from pitwall.export.matvalue import (
    MATLAB_CLASS,
    Cell,
    MatValue,
    StrCell,
    as_numeric,
    matlab_shape,
)

USERBLOCK = 512
_VLEN_S1 = h5py.vlen_dtype(np.dtype("S1"))


def _cls(name: str) -> np.bytes_:
    return np.bytes_(name.encode("ascii"))


def _utf16(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)


def _ref_names() -> Callable[[], str]:
    """`a`..`z`, `ba`..: short unique names for objects in `#refs#`, like MATLAB's."""
    counter = [0]

    def nxt() -> str:
        n = counter[0]
        counter[0] += 1
        out = ""
        while True:
            out = chr(ord("a") + n % 26) + out
            n //= 26
            if n == 0:
                return out

    return nxt


class _Writer:
    def __init__(self, f: h5py.File) -> None:
        self.f = f
        self.refs = f.create_group("#refs#")
        self._next_name = _ref_names()
        self._empty_char: h5r.Reference | None = None
        # string length -> name of the last char object of that length (to clone)
        self._templates: dict[int, bytes] = {}

    def write(self, parent: h5py.Group, name: str, value: MatValue) -> None:
        if isinstance(value, bool):
            value = np.bool_(value)
        elif isinstance(value, (int, float)):
            value = np.float64(value)
        if isinstance(value, dict):
            self._struct(parent, name, value)
        elif isinstance(value, StrCell):
            self._str_cell(parent, name, value)
        elif isinstance(value, Cell) and not value.items:
            self._empty(parent, name, "cell", value.shape)
        elif isinstance(value, Cell):
            refs = [self._ref_to(v) for v in value.items]
            self._ref_dataset(parent, name, refs, value.shape)
        elif isinstance(value, str):
            self._char(parent, name, value)
        elif value is None:
            self._empty(parent, name, "double", (0, 0))
        else:
            self._numeric(parent, name, as_numeric(value))

    # -- leaves ------------------------------------------------------------------------

    def _numeric(self, parent: h5py.Group, name: str, arr: np.ndarray) -> None:
        cls = MATLAB_CLASS[arr.dtype]
        dims = matlab_shape(arr.shape)
        if arr.size == 0:
            self._empty(parent, name, cls, dims)
            return
        if arr.dtype == np.bool_:
            arr = arr.view(np.uint8)
        # reversed axes: MATLAB (rows, cols) is HDF5 (cols, rows)
        data = arr.T if arr.ndim == 2 else arr.reshape(dims[1], dims[0])
        ds = parent.create_dataset(name, data=data)
        ds.attrs.create("MATLAB_class", _cls(cls))
        if cls == "logical":
            ds.attrs.create("MATLAB_int_decode", np.int32(1))

    def _empty(self, parent: h5py.Group, name: str, cls: str, dims: tuple[int, int]) -> None:
        ds = parent.create_dataset(name, data=np.array(dims, dtype=np.uint64))
        ds.attrs.create("MATLAB_class", _cls(cls))
        ds.attrs.create("MATLAB_empty", np.uint8(1))

    def _char(self, parent: h5py.Group, name: str, s: str) -> None:
        if not s:
            self._empty(parent, name, "char", (0, 0))
            return
        ds = parent.create_dataset(name, data=_utf16(s).reshape(-1, 1))
        ds.attrs.create("MATLAB_class", _cls("char"))
        ds.attrs.create("MATLAB_int_decode", np.int32(2))

    def _struct(self, parent: h5py.Group, name: str, value: Mapping[str, MatValue]) -> None:
        grp = parent.create_group(name, track_order=True)
        grp.attrs.create("MATLAB_class", _cls("struct"))
        if value:
            fields = np.empty(len(value), dtype=object)
            fields[:] = [np.frombuffer(k.encode("ascii"), dtype="S1") for k in value]
            grp.attrs.create("MATLAB_fields", fields, dtype=_VLEN_S1)
        for key, v in value.items():
            self.write(grp, key, v)

    # -- cells -------------------------------------------------------------------------

    def _ref_to(self, value: MatValue) -> h5r.Reference:
        name = self._next_name()
        self.write(self.refs, name, value)
        return self.refs[name].ref

    def _ref_dataset(
        self, parent: h5py.Group, name: str, refs: list | np.ndarray, shape: tuple[int, int]
    ) -> None:
        arr = np.empty(len(refs), dtype=object)
        arr[:] = refs
        # items are in MATLAB (column-major) order: HDF5 shape is (cols, rows)
        ds = parent.create_dataset(name, data=arr.reshape(shape[1], shape[0]), dtype=h5py.ref_dtype)
        ds.attrs.create("MATLAB_class", _cls("cell"))

    def _str_cell(self, parent: h5py.Group, name: str, cell: StrCell) -> None:
        shape = cell.shape
        if shape[0] * shape[1] == 0:
            self._empty(parent, name, "cell", shape)
            return
        index: dict[object, int] = {}
        flat = cell.values.ravel(order="F").tolist()
        codes = np.fromiter(
            (index.setdefault(s, len(index)) for s in flat), dtype=np.int64, count=len(flat)
        )
        distinct = np.empty(len(index), dtype=object)
        distinct[:] = [self._string_object(s if isinstance(s, str) else str(s)) for s in index]
        self._ref_dataset(parent, name, distinct[codes], shape)

    def _string_object(self, s: str) -> h5r.Reference:
        """One char object in `#refs#`, via the low-level API (see the module docstring)."""
        if not s:
            if self._empty_char is None:
                empty_name = self._next_name()
                self._empty(self.refs, empty_name, "char", (0, 0))
                self._empty_char = self.refs[empty_name].ref
            return self._empty_char
        data = _utf16(s).reshape(-1, 1)
        name = self._next_name().encode("ascii")
        gid = self.refs.id
        template = self._templates.get(data.shape[0])
        if template is None:
            dsid = h5d.create(gid, name, h5t.STD_U16LE, h5s.create_simple(data.shape))
            ds = h5py.Dataset(dsid)
            ds.attrs.create("MATLAB_class", _cls("char"))
            ds.attrs.create("MATLAB_int_decode", np.int32(2))
            self._templates[data.shape[0]] = name
        else:
            h5o.copy(gid, template, gid, name)
            dsid = h5d.open(gid, name)
        dsid.write(h5s.ALL, h5s.ALL, data)
        return h5r.create(gid, name, h5r.OBJECT)


def _header(created: float | None) -> bytes:
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(created))
    text = f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: {stamp} HDF5 schema 1.00 ."
    return text.encode("ascii").ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM"


def _approx_bytes(value: MatValue) -> int:
    if isinstance(value, dict):
        return 1 + sum(_approx_bytes(v) for v in value.values())
    if isinstance(value, (StrCell, Cell)):
        return 64 * (value.shape[0] * value.shape[1]) + 1
    if isinstance(value, np.ndarray):
        return value.nbytes + 1
    return 1


def write_mat73(
    path: Path,
    variables: Mapping[str, MatValue],
    *,
    created: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> int:
    """Write `variables` as a MATLAB v7.3 file; returns the file size in bytes."""
    weights = {name: _approx_bytes(v) for name, v in variables.items()}
    total = sum(weights.values()) or 1
    done = 0
    with h5py.File(path, "w", userblock_size=USERBLOCK, track_order=True) as f:
        writer = _Writer(f)
        for name, value in variables.items():
            writer.write(f, name, value)
            done += weights[name]
            if progress is not None:
                progress(done / total)
    with open(path, "r+b") as fh:
        fh.write(_header(created))
    return path.stat().st_size
