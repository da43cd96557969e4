"""The car's sshd (pitwall.devstack.sshd) against asyncssh, the station's SSH client.

A real OpenSSH daemon on a loopback port: key login only, host key pinned by the
known_hosts file it writes, SFTP on the car's log folder, and a `kill()` that cuts a
transfer in the middle the way switching the car off does.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

with warnings.catch_warnings():
    # asyncssh still names DSA types at import; cryptography warns on every start-up.
    warnings.simplefilter("ignore")
    import asyncssh

if TYPE_CHECKING:
    from pitwall.devstack.sshd import CarSSH

# What a transfer cut by the far end raises: the connection itself, the SFTP requests
# still waiting on it (SFTPConnectionLost), or the next one sent (SFTPNoConnection).
CUT = (asyncssh.ConnectionLost, asyncssh.DisconnectError, asyncssh.SFTPConnectionLost,
       asyncssh.SFTPNoConnection, ConnectionError, EOFError)


async def _connect(car: CarSSH, key: Path | None = None, **options: Any) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        car.host, port=car.port, username=car.user, client_keys=[str(key or car.client_key)],
        known_hosts=str(car.known_hosts), connect_timeout=5, **options,
    )


def _sessions(car: CarSSH) -> list[psutil.Process]:
    """The daemon's per-connection processes (each in its own session: sshd calls setsid)."""
    assert car.proc is not None and car.proc.pid is not None
    return psutil.Process(car.proc.pid).children(recursive=True)


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_lists_the_cars_log_folder(car_sshd: CarSSH) -> None:
    assert car_sshd.logs_dir.is_dir() and not any(car_sshd.logs_dir.iterdir())
    (car_sshd.logs_dir / "run-001.mcap").write_bytes(b"\x89MCAP0\r\n" + bytes(1000))
    async with await _connect(car_sshd) as conn, conn.start_sftp_client() as sftp:
        names = set(await sftp.listdir(str(car_sshd.logs_dir))) - {".", ".."}
        attrs = await sftp.stat(str(car_sshd.logs_dir / "run-001.mcap"))
    assert names == {"run-001.mcap"}
    assert attrs.size == 1008


async def test_reads_a_file_from_an_offset(car_sshd: CarSSH) -> None:
    data = os.urandom(300_000)
    (car_sshd.logs_dir / "run.mcap").write_bytes(data)
    async with await _connect(car_sshd) as conn, conn.start_sftp_client() as sftp:
        async with sftp.open(str(car_sshd.logs_dir / "run.mcap"), "rb") as f:
            await f.seek(123_457)
            tail = await f.read()
            head = await f.read(10, offset=5)
    assert tail == data[123_457:]
    assert head == data[5:15]


async def test_kill_cuts_a_transfer_and_restart_serves_again(car_sshd: CarSSH, tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    src = car_sshd.logs_dir / "big.mcap"
    with open(src, "wb") as f:  # noqa: ASYNC230 (a sparse file: no I/O to wait for)
        f.truncate(size)  # sparse: written in no time
    port = car_sshd.port
    started = asyncio.Event()

    def progress(_src: bytes, _dst: bytes, copied: int, _total: int) -> None:
        if copied >= 1024 * 1024:
            started.set()

    conn = await _connect(car_sshd)
    try:
        sftp = await conn.start_sftp_client()
        # One small request at a time: the copy lasts long enough to be cut in the middle.
        copy = asyncio.create_task(sftp.get(str(src), str(tmp_path / "copy.mcap"), block_size=16384,
                                            max_requests=1, progress_handler=progress))
        await asyncio.wait_for(started.wait(), 5)
        sessions = _sessions(car_sshd)
        assert sessions, "the transfer has no session process"
        car_sshd.kill()
        with pytest.raises(CUT):
            await asyncio.wait_for(copy, 5)
        assert (tmp_path / "copy.mcap").stat().st_size < size
        assert not car_sshd.alive()
        assert all(_gone(p) for p in sessions), "a session outlived kill()"
    finally:
        conn.abort()

    car_sshd.restart()
    assert car_sshd.alive() and car_sshd.port == port
    # Same host key: the known_hosts file written at the first start still matches.
    async with await _connect(car_sshd) as conn2, conn2.start_sftp_client() as sftp2:
        assert "big.mcap" in await sftp2.listdir(str(car_sshd.logs_dir))


async def test_a_wrong_client_key_is_refused(car_sshd: CarSSH, tmp_path: Path) -> None:
    other = tmp_path / "stranger_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)  # noqa: ASYNC221
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(car_sshd, key=other)
    async with await _connect(car_sshd) as conn:  # the daemon is unharmed, the right key still works
        assert (await conn.run("true", check=True)).exit_status == 0


async def test_stop_ends_the_daemon_and_its_sessions(car_sshd: CarSSH) -> None:
    conn = await _connect(car_sshd)
    try:
        sessions = _sessions(car_sshd)
        car_sshd.stop()
        assert not car_sshd.alive()
        await asyncio.wait_for(conn.wait_closed(), 5)
        assert all(_gone(p) for p in sessions), "a session outlived stop()"
    finally:
        conn.abort()
