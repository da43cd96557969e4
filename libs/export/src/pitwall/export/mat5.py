"""A fast MAT v5 writer (MATLAB `-v7` without compression), for the `matvalue` tree.

Why not `scipy.io.savemat`: it spends ~35 µs of Python per string cell and copies every
array. Here numeric arrays go to the file as memoryviews of the column (1-D columns are not
copied at all), and a string cell is built by encoding each distinct string once into a
complete cell-element byte string and joining those bytes by index.

Format notes (MATLAB "MAT-File Format", v5): a 128-byte header, then one miMATRIX element
per variable. Every element is an 8-byte tag (type, byte count) and data padded to 8 bytes;
byte counts are uint32, and MATLAB refuses variables of 2^31 bytes or more, which is the
limit `oversize_variables` checks so the caller can switch to v7.3.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from pitwall.export.matvalue import (
    Cell,
    MatValue,
    StrCell,
    as_numeric,
    matlab_shape,
)

# Data types (mi*) and array classes (mx*) of the v5 format.
MI_INT8, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32 = 1, 2, 3, 4, 5, 6
MI_SINGLE, MI_DOUBLE, MI_INT64, MI_UINT64, MI_MATRIX, MI_UTF8 = 7, 9, 12, 13, 14, 16
MX_CELL, MX_STRUCT, MX_CHAR = 1, 2, 4
LOGICAL_FLAG = 0x0200

# Largest miMATRIX element (tag included) MATLAB loads from a v5/v7 file.
V5_MAX_VARIABLE_BYTES = 2**31 - 1

_NUMERIC: dict[np.dtype, tuple[int, int, int]] = {  # dtype -> (mx class, mi type, flags)
    np.dtype(np.float64): (6, MI_DOUBLE, 0),
    np.dtype(np.float32): (7, MI_SINGLE, 0),
    np.dtype(np.int8): (8, MI_INT8, 0),
    np.dtype(np.uint8): (9, MI_UINT8, 0),
    np.dtype(np.int16): (10, MI_INT16, 0),
    np.dtype(np.uint16): (11, MI_UINT16, 0),
    np.dtype(np.int32): (12, MI_INT32, 0),
    np.dtype(np.uint32): (13, MI_UINT32, 0),
    np.dtype(np.int64): (14, MI_INT64, 0),
    np.dtype(np.uint64): (15, MI_UINT64, 0),
    np.dtype(np.bool_): (9, MI_UINT8, LOGICAL_FLAG),
}

_PADS = [b"\0" * i for i in range(8)]
_EMPTY_NAME = struct.pack("<II", MI_INT8, 0)


class V5LimitError(ValueError):
    """A variable is too large for MAT v5; `names` lists which."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"variables over the MAT v5 limit of 2 GB: {', '.join(names)}")
        self.names = names


def _pad(n: int) -> int:
    return -n % 8


def _tag(mi: int, nbytes: int) -> bytes:
    return struct.pack("<II", mi, nbytes)


def _name_element(name: bytes) -> bytes:
    if not name:
        return _EMPTY_NAME
    return _tag(MI_INT8, len(name)) + name + _PADS[_pad(len(name))]


def _array_header(mx: int, flags: int, dims: tuple[int, int], name: bytes) -> bytes:
    """Array flags, dimensions and name sub-elements of a miMATRIX."""
    for d in dims:
        if d > 2**31 - 1:
            raise V5LimitError([f"a dimension of {d}"])
    return (
        _tag(MI_UINT32, 8)
        + struct.pack("<II", mx | flags, 0)
        + _tag(MI_INT32, 8)
        + struct.pack("<ii", *dims)
        + _name_element(name)
    )


def _header_size(name: bytes) -> int:
    return 16 + 16 + (8 if not name else 8 + len(name) + _pad(len(name)))


def _normalize(value: MatValue | bool | int | float) -> MatValue:
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, (int, float)):
        return np.float64(value)
    return value


def _encode_char(s: str) -> tuple[int, bytes, tuple[int, int]]:
    """(mi type, data, dims) of a 1 x L char row, as miUTF8 with L = characters.

    miUINT16 would hold MATLAB's UTF-16 code units, but scipy (and older MATLAB) decode
    miUINT16 with a platform codec; miUTF8 is what scipy writes and MATLAB reads back."""
    if not s:
        return MI_UTF8, b"", (0, 0)
    data = s.encode("utf-8", "surrogatepass")
    return MI_UTF8, data, (1, len(s))


def _char_element(s: str) -> bytes:
    """A complete miMATRIX element (tag included, no name) for one cell holding `s`."""
    mi, data, dims = _encode_char(s)
    content = (
        _array_header(MX_CHAR, 0, dims, b"") + _tag(mi, len(data)) + data + _PADS[_pad(len(data))]
    )
    return _tag(MI_MATRIX, len(content)) + content


def _field_name_length(names: list[bytes]) -> int:
    longest = max((len(n) for n in names), default=0)
    # MATLAB itself writes 32 (names up to 31 characters) or 64.
    return 32 if longest < 32 else 64


class _Writer:
    """Sizes and emits elements; caches each string cell's encoding between the two."""

    def __init__(self) -> None:
        self._cells: dict[int, tuple[list[bytes], list[int]]] = {}

    def _encoded(self, cell: StrCell) -> tuple[list[bytes], list[int]]:
        key = id(cell.values)
        hit = self._cells.get(key)
        if hit is None:
            index: dict[object, int] = {}
            flat = cell.values.ravel(order="F").tolist()
            codes = [index.setdefault(s, len(index)) for s in flat]
            elements = [_char_element(s if isinstance(s, str) else str(s)) for s in index]
            hit = (elements, codes)
            self._cells[key] = hit
        return hit

    # -- sizes (content only: the 8-byte miMATRIX tag is not counted) ------------------

    def content_size(self, value: MatValue, name: bytes = b"") -> int:
        value = _normalize(value)
        if isinstance(value, dict):
            names = [k.encode("ascii") for k in value]
            fnl = _field_name_length(names)
            size = _header_size(name) + 8 + 8 + len(names) * fnl + _pad(len(names) * fnl)
            return size + sum(8 + self.content_size(v) for v in value.values())
        if isinstance(value, StrCell):
            elements, codes = self._encoded(value)
            return _header_size(name) + sum(map(len, map(elements.__getitem__, codes)))
        if isinstance(value, Cell):
            return _header_size(name) + sum(8 + self.content_size(v) for v in value.items)
        if isinstance(value, str):
            _, data, _ = _encode_char(value)
            return _header_size(name) + 8 + len(data) + _pad(len(data))
        if value is None:
            return _header_size(name) + 8
        arr = as_numeric(value)
        nbytes = arr.size * arr.dtype.itemsize
        return _header_size(name) + 8 + nbytes + _pad(nbytes)

    # -- emission ----------------------------------------------------------------------

    def emit(self, value: MatValue, name: bytes, out: list[bytes | memoryview]) -> int:
        """Append the chunks of one miMATRIX element to `out`; returns its total size."""
        value = _normalize(value)
        at = len(out)
        out.append(b"")  # the tag, once the content size is known
        if isinstance(value, dict):
            size = self._emit_struct(value, name, out)
        elif isinstance(value, StrCell):
            elements, codes = self._encoded(value)
            self._cells.pop(id(value.values), None)  # sized already; free it once written
            header = _array_header(MX_CELL, 0, value.shape, name)
            body = b"".join(map(elements.__getitem__, codes))
            out += [header, body]
            size = len(header) + len(body)
        elif isinstance(value, Cell):
            header = _array_header(MX_CELL, 0, value.shape, name)
            out.append(header)
            size = len(header) + sum(self.emit(v, b"", out) for v in value.items)
        elif isinstance(value, str):
            mi, data, dims = _encode_char(value)
            header = _array_header(MX_CHAR, 0, dims, name) + _tag(mi, len(data))
            out += [header, data, _PADS[_pad(len(data))]]
            size = len(header) + len(data) + _pad(len(data))
        elif value is None:
            header = _array_header(6, 0, (0, 0), name) + _tag(MI_DOUBLE, 0)
            out.append(header)
            size = len(header)
        else:
            size = self._emit_numeric(as_numeric(value), name, out)
        out[at] = _tag(MI_MATRIX, size)
        return size + 8

    def _emit_struct(
        self, value: Mapping[str, MatValue], name: bytes, out: list[bytes | memoryview]
    ) -> int:
        names = [k.encode("ascii") for k in value]
        for n in names:
            if len(n) > 63:
                raise ValueError(f"field name longer than 63 characters: {n.decode()}")
        fnl = _field_name_length(names)
        packed = b"".join(n.ljust(fnl, b"\0") for n in names)
        header = (
            _array_header(MX_STRUCT, 0, (1, 1), name)
            # field name length as a small data element (tag and 4 bytes of data in 8)
            + struct.pack("<Ii", (4 << 16) | MI_INT32, fnl)
            + _tag(MI_INT8, len(packed))
            + packed
            + _PADS[_pad(len(packed))]
        )
        out.append(header)
        return len(header) + sum(self.emit(v, b"", out) for v in value.values())

    def _emit_numeric(self, arr: np.ndarray, name: bytes, out: list[bytes | memoryview]) -> int:
        mx, mi, flags = _NUMERIC[arr.dtype]
        dims = matlab_shape(arr.shape)
        # MATLAB is column-major: an N x K matrix goes column after column.
        data = np.ascontiguousarray(arr.T if arr.ndim == 2 else arr)
        nbytes = data.size * data.dtype.itemsize
        header = _array_header(mx, flags, dims, name) + _tag(mi, nbytes)
        out.append(header)
        if nbytes:
            out += [data.reshape(-1).view(np.uint8).data, _PADS[_pad(nbytes)]]
        return len(header) + nbytes + _pad(nbytes)


def oversize_variables(variables: Mapping[str, MatValue]) -> list[str]:
    """Names of the variables MATLAB could not load from a v5 file (too many bytes).

    Works from shapes: a broadcast view standing in for a huge array costs nothing.
    """
    w = _Writer()
    return [
        name
        for name, value in variables.items()
        if 8 + w.content_size(value, name.encode("ascii")) > V5_MAX_VARIABLE_BYTES
    ]


def _file_header(created: float | None) -> bytes:
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(created))
    text = f"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: {stamp} UTC by pitwall"
    # text, subsystem data offset (none), version 0x0100, endian indicator.
    return text.encode("ascii").ljust(116, b" ") + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"


def write_mat5(
    path: Path,
    variables: Mapping[str, MatValue],
    *,
    created: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> int:
    """Write `variables` as a MAT v5 file; returns the number of bytes written.

    Raises V5LimitError, before touching `path`, when a variable is too large for v5.
    """
    writer = _Writer()
    sizes = {
        name: 8 + writer.content_size(value, name.encode("ascii"))
        for name, value in variables.items()
    }
    over = [name for name, size in sizes.items() if size > V5_MAX_VARIABLE_BYTES]
    if over:
        raise V5LimitError(over)
    total = 128 + sum(sizes.values())
    done = 128
    with open(path, "wb") as f:
        f.write(_file_header(created))
        for name, value in variables.items():
            chunks: list[bytes | memoryview] = []
            written = writer.emit(value, name.encode("ascii"), chunks)
            assert written == sizes[name], (name, written, sizes[name])
            f.writelines(chunks)
            done += written
            if progress is not None:
                progress(done / total)
    return total
