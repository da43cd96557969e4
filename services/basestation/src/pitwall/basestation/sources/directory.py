"""A folder as a source: a USB stick, a mounted share, the simulated car of `make up`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from pitwall.basestation.settings import SourceConfig
from pitwall.basestation.sources.base import RemoteFile, SourceError, wanted


def _error(exc: OSError, what: str) -> SourceError:
    gone = isinstance(exc, FileNotFoundError)
    return SourceError(f"{what}: {exc.strerror or exc}" + (" (the file vanished)" if gone else ""))


class DirectorySource:
    kind = "directory"

    def __init__(self, config: SourceConfig) -> None:
        assert config.path is not None
        self.source_id = config.id
        self.root = Path(config.path)
        self.recursive = config.recursive
        self.pattern = config.pattern

    def _full(self, path: str) -> Path:
        return self.root / path

    def _scan(self) -> list[RemoteFile]:
        if not self.root.is_dir():
            raise SourceError(f"{self.root} is not there (not mounted?)", unreachable=True)
        found: list[RemoteFile] = []
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                if folder == self.root:
                    raise SourceError(f"cannot list {folder}: {exc.strerror}", unreachable=True) from None
                continue  # an unreadable sub-folder does not stop the rest
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if self.recursive and not entry.name.startswith("."):
                            stack.append(Path(entry.path))
                        continue
                    if not wanted(entry.name, self.pattern):
                        continue
                    st = entry.stat()
                except OSError:
                    continue  # vanished between listing and stat
                rel = Path(entry.path).relative_to(self.root).as_posix()
                found.append(RemoteFile(rel, st.st_size, st.st_mtime_ns))
        return found

    async def list(self) -> list[RemoteFile]:
        return await asyncio.to_thread(self._scan)

    async def stat(self, path: str) -> RemoteFile:
        try:
            st = await asyncio.to_thread(os.stat, self._full(path))
        except OSError as exc:
            raise _error(exc, path) from None
        return RemoteFile(path, st.st_size, st.st_mtime_ns)

    async def tail(self, path: str, size: int, n: int) -> bytes:
        def read() -> bytes:
            with open(self._full(path), "rb") as f:
                f.seek(max(0, size - n))
                return f.read(min(n, size))

        try:
            return await asyncio.to_thread(read)
        except OSError as exc:
            raise _error(exc, path) from None

    async def read(self, path: str, offset: int, chunk: int) -> AsyncIterator[bytes]:
        try:
            f = await asyncio.to_thread(open, self._full(path), "rb")
        except OSError as exc:
            raise _error(exc, path) from None
        try:
            f.seek(offset)
            while True:
                try:
                    block = await asyncio.to_thread(f.read, chunk)
                except OSError as exc:
                    raise _error(exc, path) from None
                if not block:
                    return
                yield block
        finally:
            f.close()

    async def sha256(self, path: str) -> str | None:
        return None  # same machine: the copy was hashed as it was read

    async def remove(self, path: str) -> None:
        try:
            await asyncio.to_thread(os.remove, self._full(path))
        except OSError as exc:
            raise _error(exc, path) from None

    async def changes(self) -> AsyncIterator[None]:
        import watchfiles

        while True:
            if not self.root.is_dir():
                await asyncio.sleep(2)
                continue
            try:
                async for _ in watchfiles.awatch(self.root, recursive=self.recursive, debounce=200, step=100):
                    yield None
            except (OSError, RuntimeError):
                await asyncio.sleep(2)  # the folder went away (stick pulled): wait for it

    async def close(self) -> None:
        return None
