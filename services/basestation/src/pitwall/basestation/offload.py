"""Copy one file version off its source into the spool, verified, exactly once per content.

Bytes go to `spool/tmp/<row id>.part` (appended to after a crash, so a half copy is
resumed, not restarted), hashed as they are written, fsynced, compared with the car's
own `sha256sum` of its file (run while the copy runs) when it can give one, and only
then renamed to `spool/<sha256>.mcap`. A
content already in the spool is not stored twice.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitwall.basestation.cloud import RateLimit
from pitwall.basestation.journal import Entry
from pitwall.basestation.sources.base import Source, SourceError


class OffloadError(Exception):
    def __init__(self, message: str, *, unreachable: bool = False, changed: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        self.changed = changed


@dataclass(frozen=True, slots=True)
class Copied:
    sha256: str
    path: Path
    already_had: bool


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / f"{sha256}.mcap"

    def part(self, entry_id: int) -> Path:
        return self.tmp / f"{entry_id}.part"

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def bytes_used(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("*.mcap"))


def _hash_prefix(path: Path, n: int) -> Any:
    """SHA-256 state over the first `n` bytes already in the spool (a resumed copy)."""
    digest = hashlib.sha256()
    if n:
        with open(path, "rb") as f:
            while n > 0 and (block := f.read(min(n, 4 * 1024 * 1024))):
                digest.update(block)
                n -= len(block)
    return digest


def _write_hashed(out: Any, digest: Any, block: bytes) -> None:
    out.write(block)
    digest.update(block)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def offload(
    source: Source,
    entry: Entry,
    spool: Spool,
    chunk: int,
    progress: Callable[[int], None] | None = None,
    limit: RateLimit | None = None,
) -> Copied:
    part = spool.part(entry.id)
    have = part.stat().st_size if part.exists() else 0
    if have > entry.size:  # not a prefix of this version: start over
        part.unlink()
        have = 0
    # The car hashes its file while the station copies it: the check costs no extra time.
    on_car_task = asyncio.ensure_future(source.sha256(entry.path))
    try:
        digest = await asyncio.to_thread(_hash_prefix, part, have)
        out = await asyncio.to_thread(open, part, "ab")
        try:
            async for block in source.read(entry.path, have, chunk):
                if limit is not None:
                    await limit.take(len(block))
                if have + len(block) > entry.size:
                    raise OffloadError(f"{entry.path} grew while it was copied", changed=True)
                await asyncio.to_thread(_write_hashed, out, digest, block)
                have += len(block)
                if progress is not None:
                    progress(have)
            out.flush()
            await asyncio.to_thread(os.fsync, out.fileno())
        finally:
            out.close()
    except OffloadError:
        on_car_task.cancel()
        part.unlink(missing_ok=True)  # other content than decided on: nothing to resume
        raise
    except SourceError as exc:
        on_car_task.cancel()
        raise OffloadError(str(exc), unreachable=exc.unreachable) from None
    except OSError as exc:
        on_car_task.cancel()
        if exc.errno == errno.ENOSPC:
            part.unlink(missing_ok=True)  # give the space back to the rest of the station
            raise OffloadError(f"the station's disk is full ({spool.root}); {entry.path} waits") from None
        raise OffloadError(f"writing {part}: {exc.strerror}") from None
    except BaseException:
        on_car_task.cancel()
        raise
    if have < entry.size:
        on_car_task.cancel()
        part.unlink(missing_ok=True)
        raise OffloadError(f"{entry.path} shrank while it was copied ({have} of {entry.size} bytes)", changed=True)

    # The source must still be the version that was decided on: else it is new content
    # (a new journal row on the next scan), and this copy is not trusted.
    try:
        now = await source.stat(entry.path)
        on_car = await on_car_task
    except SourceError as exc:
        on_car_task.cancel()
        raise OffloadError(str(exc), unreachable=exc.unreachable) from None
    if (now.size, now.mtime_ns) != (entry.size, entry.mtime_ns):
        part.unlink(missing_ok=True)
        raise OffloadError(f"{entry.path} changed while it was copied", changed=True)
    sha = digest.hexdigest()
    if on_car is not None and on_car != sha:
        part.unlink(missing_ok=True)
        raise OffloadError(f"{entry.path}: the copy's SHA-256 differs from the car's ({sha[:12]} vs {on_car[:12]})")

    final = spool.path(sha)
    if final.exists():
        part.unlink()
        return Copied(sha, final, already_had=True)
    os.replace(part, final)
    await asyncio.to_thread(_fsync_dir, spool.root)
    return Copied(sha, final, already_had=False)
