"""The interface a source of logs offers the station."""

from __future__ import annotations

import fnmatch
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RemoteFile:
    path: str  # as the source names it (relative to its root for folders)
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class SourceError(Exception):
    """A source could not do what was asked (unreachable, denied, vanished file)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def wanted(name: str, pattern: str) -> bool:
    # Hidden files and the logger's own temp names are not logs yet.
    if name.startswith(".") or name.endswith((".tmp", ".part")):
        return False
    return fnmatch.fnmatch(name.lower(), pattern.lower())


class Source(Protocol):
    source_id: str
    kind: str

    async def list(self) -> list[RemoteFile]: ...

    async def stat(self, path: str) -> RemoteFile: ...

    async def tail(self, path: str, size: int, n: int) -> bytes:
        """The last `n` bytes of the first `size` bytes (to look for the MCAP footer)."""
        ...

    def read(self, path: str, offset: int, chunk: int) -> AsyncIterator[bytes]: ...

    async def sha256(self, path: str) -> str | None:
        """The hash as the source computes it, or None when it cannot."""
        ...

    async def remove(self, path: str) -> None: ...

    def changes(self) -> AsyncIterator[None]:
        """Yields when something may have changed (best effort; scans still run)."""
        ...

    async def close(self) -> None: ...
