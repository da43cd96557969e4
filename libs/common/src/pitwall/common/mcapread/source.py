"""Where the bytes of an MCAP file come from: a path, bytes in memory, or ranged reads.

A linear read needs the whole file as one buffer (`whole()`); an indexed partial read
only asks for the byte ranges it needs (`read()`), so a `RangeSource` backed by S3
ranged GETs fetches only the chunks a selection touches.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

# Linear reads of a RangeSource fetch it in blocks this large.
_RANGE_BLOCK = 16 << 20


@runtime_checkable
class RangeSource(Protocol):
    """Random access to an object of known size (e.g. S3 ranged GETs)."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...


class ByteSource:
    """Uniform access for the reader: `size`, bounded `read()`, `whole()` as uint8 array."""

    def __init__(
        self,
        size: int,
        reader: Callable[[int, int], bytes],
        whole: Callable[[], np.ndarray],
        name: str,
        closer: Callable[[], None] | None = None,
        release: Callable[[], None] | None = None,
    ) -> None:
        self.size = size
        self._reader = reader
        self._whole = whole
        self._closer = closer
        self._release = release
        self.name = name

    def read(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes at `offset`, clipped to the end of the source."""
        if offset < 0 or offset >= self.size or length <= 0:
            return b""
        length = min(length, self.size - offset)
        return self._reader(offset, length)

    def whole(self) -> np.ndarray:
        return self._whole()

    def release(self) -> None:
        """Drop the pages `whole()` brought in (they are read again if touched)."""
        if self._release is not None:
            self._release()

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self) -> ByteSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Sourceish = str | os.PathLike[str] | bytes | bytearray | memoryview | RangeSource | ByteSource


def open_source(source: Sourceish) -> ByteSource:
    if isinstance(source, ByteSource):
        return source
    if isinstance(source, str | os.PathLike):
        return _path_source(Path(source))
    if isinstance(source, bytes | bytearray | memoryview):
        return _memory_source(source)
    if isinstance(source, RangeSource):
        return _range_source(source)
    raise TypeError(f"cannot read an MCAP from {type(source).__name__}")


def _memory_source(data: bytes | bytearray | memoryview) -> ByteSource:
    view = memoryview(data).cast("B")
    arr = np.frombuffer(view, dtype=np.uint8)
    return ByteSource(
        len(view),
        lambda off, n: bytes(view[off : off + n]),
        lambda: arr,
        "<memory>",
    )


def _path_source(path: Path) -> ByteSource:
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
    except BaseException:
        os.close(fd)
        raise
    state: dict[str, mmap.mmap] = {}

    def whole() -> np.ndarray:
        if size == 0:
            return np.zeros(0, dtype=np.uint8)
        if "map" not in state:
            state["map"] = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
        return np.frombuffer(state["map"], dtype=np.uint8)

    def close() -> None:
        mapped = state.pop("map", None)
        if mapped is not None:
            try:
                mapped.close()
            except BufferError:
                # numpy views of the map are still alive (columns of strings hold
                # none, but callers may); the map is released with the last view.
                pass
        os.close(fd)

    def release() -> None:
        mapped = state.get("map")
        if mapped is not None and hasattr(mmap, "MADV_DONTNEED"):
            mapped.madvise(mmap.MADV_DONTNEED)

    return ByteSource(size, lambda off, n: os.pread(fd, n, off), whole, str(path), close, release)


def _range_source(src: RangeSource) -> ByteSource:
    size = int(src.size)
    cache: dict[str, np.ndarray] = {}

    def read(off: int, n: int) -> bytes:
        data = src.read(off, n)
        return bytes(data[:n])

    def whole() -> np.ndarray:
        if "all" not in cache:
            buf = np.zeros(size, dtype=np.uint8)
            pos = 0
            while pos < size:
                piece = src.read(pos, min(_RANGE_BLOCK, size - pos))
                if not piece:
                    break  # a short object: the rest reads as zeros, i.e. a cut file
                piece = piece[: size - pos]
                buf[pos : pos + len(piece)] = np.frombuffer(piece, dtype=np.uint8)
                pos += len(piece)
            cache["all"] = buf[:pos]
        return cache["all"]

    return ByteSource(size, read, whole, getattr(src, "name", "<range>"))
