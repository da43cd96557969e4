"""The car over SSH: SFTP for listing and reading, `sha256sum` on the car to verify copies.

One connection is kept open and re-made after any failure (the car is switched off,
drives out of Wi-Fi range, its sshd restarts); every call says `unreachable` when the
link is the problem, so the station can tell "car away" from "this file is bad".
"""

from __future__ import annotations

import asyncio
import posixpath
import shlex
import warnings
from collections.abc import AsyncIterator
from typing import Any, cast

with warnings.catch_warnings():
    # asyncssh still names DSA types at import; cryptography warns on every start-up.
    warnings.simplefilter("ignore")
    import asyncssh

from pitwall.basestation.settings import SourceConfig
from pitwall.basestation.sources.base import RemoteFile, SourceError, wanted

# AES-GCM first: with AES instructions (any x86 laptop, most ARM boards) it is about 1.6x
# the throughput of asyncssh's default ChaCha20 on loopback; the rest stay as fallbacks.
CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
           "aes128-ctr", "aes256-ctr")

_LINK_ERRORS = (asyncssh.DisconnectError, asyncssh.ConnectionLost, ConnectionError, OSError, asyncio.TimeoutError)


class SFTPSource:
    kind = "sftp"

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.source_id = config.id
        self.root = config.remote_dir.rstrip("/") or "/"
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._lock = asyncio.Lock()
        self._can_hash: bool | None = None

    async def _client(self) -> asyncssh.SFTPClient:
        async with self._lock:
            if self._sftp is not None and self._conn is not None and not self._conn.is_closed():
                return self._sftp
            await self._drop()
            c = self.config
            options: dict[str, Any] = {
                "port": c.port,
                "username": c.user,
                "connect_timeout": c.connect_timeout_s,
                "keepalive_interval": 5,
                "keepalive_count_max": 3,
                "encryption_algs": list(CIPHERS),
            }
            if c.key is not None:
                options["client_keys"] = [str(c.key)]
            if c.known_hosts is not None:
                options["known_hosts"] = str(c.known_hosts)
            try:
                self._conn = await asyncssh.connect(c.host, **options)
                self._sftp = await self._conn.start_sftp_client()
            except asyncssh.PermissionDenied as exc:
                await self._drop()
                raise SourceError(f"the car refused the station's key ({exc.reason})", unreachable=True) from None
            except asyncssh.HostKeyNotVerifiable as exc:
                await self._drop()
                raise SourceError(f"the car's host key is not the known one ({exc.reason})", unreachable=True) from None
            except (*_LINK_ERRORS, asyncssh.Error) as exc:
                await self._drop()
                raise SourceError(f"cannot reach {c.host}:{c.port}: {_text(exc)}", unreachable=True) from None
            return self._sftp

    async def _drop(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
        if self._conn is not None:
            self._conn.close()
        self._sftp = self._conn = None

    def _full(self, path: str) -> str:
        return posixpath.join(self.root, path)

    async def _call(self, what: str, op: Any) -> Any:
        sftp = await self._client()
        try:
            return await op(sftp)
        except (asyncssh.SFTPError, *_LINK_ERRORS) as exc:
            raise await self._failure(what, exc) from None

    async def _failure(self, what: str, exc: BaseException) -> SourceError:
        """One error for people: a file problem, or the link (then reconnect next time)."""
        if isinstance(exc, asyncssh.SFTPNoSuchFile):
            return SourceError(f"{what}: no such file (it vanished from the car)")
        if isinstance(exc, asyncssh.SFTPPermissionDenied):
            return SourceError(f"{what}: permission denied on the car")
        if isinstance(exc, asyncssh.SFTPError):
            return SourceError(f"{what}: {exc.reason}")
        await self._drop()
        return SourceError(f"{what}: link to the car lost ({_text(exc)})", unreachable=True)

    async def list(self) -> list[RemoteFile]:
        async def walk(sftp: asyncssh.SFTPClient) -> list[RemoteFile]:
            found: list[RemoteFile] = []
            stack = [""]
            while stack:
                rel = stack.pop()
                try:
                    names = await sftp.readdir(self._full(rel) if rel else self.root)
                except asyncssh.SFTPError:
                    if not rel:
                        raise
                    continue
                for n in names:
                    name = str(n.filename)
                    if name in (".", ".."):
                        continue
                    child = f"{rel}/{name}" if rel else name
                    if n.attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
                        if not name.startswith("."):
                            stack.append(child)
                    elif n.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR and wanted(name, self.config.pattern):
                        found.append(RemoteFile(child, int(n.attrs.size or 0), _mtime_ns(n.attrs)))
            return found

        return list(await self._call(f"listing {self.root}", walk))

    async def stat(self, path: str) -> RemoteFile:
        attrs = await self._call(path, lambda sftp: sftp.stat(self._full(path)))
        return RemoteFile(path, int(attrs.size or 0), _mtime_ns(attrs))

    async def tail(self, path: str, size: int, n: int) -> bytes:
        async def read(sftp: asyncssh.SFTPClient) -> bytes:
            async with sftp.open(self._full(path), "rb") as f:
                await f.seek(max(0, size - n))
                # Opened "rb": asyncssh types read() as str | bytes, but it returns bytes.
                return bytes(cast(bytes, await f.read(min(n, size))))

        return bytes(await self._call(path, read))

    async def read(self, path: str, offset: int, chunk: int) -> AsyncIterator[bytes]:
        sftp = await self._client()
        try:
            # asyncssh splits a large read into parallel requests: one call per chunk
            # keeps the link full without a hand-written pipeline.
            async with sftp.open(self._full(path), "rb", block_size=256 * 1024, max_requests=64) as f:
                await f.seek(offset)
                while True:
                    block = await f.read(chunk)
                    if not block:
                        return
                    yield bytes(cast(bytes, block))
        except (asyncssh.SFTPError, *_LINK_ERRORS) as exc:
            raise await self._failure(f"{path} (mid-copy)", exc) from None

    async def sha256(self, path: str) -> str | None:
        if not self.config.verify_on_car or self._can_hash is False:
            return None
        await self._client()
        assert self._conn is not None
        try:
            result = await self._conn.run(f"sha256sum -- {shlex.quote(self._full(path))}", check=False, timeout=600)
        except (*_LINK_ERRORS, asyncssh.Error) as exc:
            await self._drop()
            raise SourceError(f"{path}: link to the car lost while it hashed ({_text(exc)})",
                              unreachable=True) from None
        out = str(result.stdout or "").split()
        if result.exit_status != 0 or not out or len(out[0]) != 64:
            if result.exit_status == 127:  # no sha256sum on this car: stat checks only
                self._can_hash = False
            return None
        self._can_hash = True
        return out[0].lower()

    async def remove(self, path: str) -> None:
        await self._call(path, lambda sftp: sftp.remove(self._full(path)))

    async def changes(self) -> AsyncIterator[None]:
        # SFTP has no notifications: the periodic scan is the only signal.
        while True:
            await asyncio.sleep(3600)
            yield None

    async def close(self) -> None:
        await self._drop()


def _mtime_ns(attrs: asyncssh.SFTPAttrs) -> int:
    mtime_ns = getattr(attrs, "mtime_ns", None)
    if mtime_ns:
        return int(mtime_ns)
    return int(attrs.mtime or 0) * 1_000_000_000


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
