"""The in-memory MAT value tree both MAT writers (v5 and v7.3) take.

A value is one of:
- a numpy array or scalar of float64/float32/(u)int8..64/bool: 1-D length N becomes an
  N x 1 column (what the MAT contract asks for), 2-D is written as is, 0-D as 1 x 1;
- `str`: a 1 x L char row ('' is MATLAB's 0 x 0 char);
- `StrCell`: a cell of char built from an object array of `str` (the fast path for string
  signals: each distinct string is encoded once);
- `Cell`: a small cell of arbitrary values (meta tables);
- `dict[str, value]`: a 1 x 1 struct, fields in insertion order;
- `None`: MATLAB's `[]` (0 x 0 double).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

MatValue = Union[np.ndarray, np.generic, str, "StrCell", "Cell", dict[str, "MatValue"], None]

# numpy dtype -> MATLAB class name (as MATLAB spells it).
MATLAB_CLASS: dict[np.dtype, str] = {
    np.dtype(np.float64): "double",
    np.dtype(np.float32): "single",
    np.dtype(np.int8): "int8",
    np.dtype(np.uint8): "uint8",
    np.dtype(np.int16): "int16",
    np.dtype(np.uint16): "uint16",
    np.dtype(np.int32): "int32",
    np.dtype(np.uint32): "uint32",
    np.dtype(np.int64): "int64",
    np.dtype(np.uint64): "uint64",
    np.dtype(np.bool_): "logical",
}


@dataclass(frozen=True, slots=True)
class StrCell:
    """A cell of char rows; `values` is an object array of `str`, 1-D (-> N x 1) or 2-D."""

    values: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return matlab_shape(self.values.shape)


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell of arbitrary values; `items` in MATLAB (column-major) order."""

    items: list[MatValue]
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        if self.shape[0] * self.shape[1] != len(self.items):
            raise ValueError(f"cell shape {self.shape} does not hold {len(self.items)} items")


def matlab_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """The MATLAB dims of an array of numpy `shape`: 1-D N is N x 1, 0-D is 1 x 1."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], 1)
    if len(shape) == 2:
        return (shape[0], shape[1])
    raise ValueError(f"only 0-, 1- and 2-D arrays are written, not {shape}")


def as_numeric(value: np.ndarray | np.generic) -> np.ndarray:
    """A little-endian array of a supported dtype, or a TypeError."""
    arr = np.asarray(value)
    if arr.dtype not in MATLAB_CLASS:
        le = arr.dtype.newbyteorder("<")
        if le in MATLAB_CLASS:
            return arr.astype(le)
        raise TypeError(f"no MATLAB class for dtype {arr.dtype}")
    return arr


def table(rows: list[tuple[MatValue, ...]], width: int) -> Cell:
    """An M x width cell from row tuples (MATLAB wants the items column by column)."""
    items: list[MatValue] = [row[c] for c in range(width) for row in rows]
    return Cell(items, (len(rows), width))


def str_column(strings: list[str], width: int = 1) -> StrCell:
    """An M x width cell of char from row-major `strings`."""
    arr = np.empty(len(strings), dtype=object)
    arr[:] = strings
    if width == 1:
        return StrCell(arr)
    return StrCell(arr.reshape(-1, width))
