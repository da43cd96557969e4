"""A real OpenSSH sshd on a loopback port playing "the car" (tests, bench, demos).

Throwaway host and client keys, a known_hosts file that pins the host key, internal
SFTP, and nothing of the machine's own ssh set-up touched. `kill()` ends the daemon and
every connection it serves (a car switched off mid-transfer); `restart()` brings it back
on the same port with the same keys.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pitwall.devstack.ports import free_port
from pitwall.devstack.process import ManagedProcess
from pitwall.devstack.waiting import wait_until

if TYPE_CHECKING:
    import psutil

SSHD = "/usr/sbin/sshd"


class SSHDUnavailable(RuntimeError):
    pass


def _banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(1.0)
            return s.recv(64).startswith(b"SSH-2.0")
    except OSError:
        return False


@functools.cache
def _openssh_version() -> tuple[int, int]:
    done = subprocess.run([SSHD, "-V"], capture_output=True, text=True, timeout=10, check=False)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", done.stderr + done.stdout)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def _signal(procs: list[psutil.Process], sig: int) -> None:
    import psutil

    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(sig)  # psutil checks the pid was not reused


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until each has exited (a zombie counts: its parent died, nobody may reap it)."""
    import psutil

    def running(p: psutil.Process) -> bool:
        try:
            return p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + timeout
    left = [p for p in procs if running(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [p for p in left if running(p)]
    return left


def _keygen(path: Path, comment: str) -> None:
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                       check=True, capture_output=True)


@dataclass
class CarSSH:
    workdir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = field(default_factory=getpass.getuser)
    proc: ManagedProcess | None = None

    @property
    def client_key(self) -> Path:
        return self.workdir / "client_ed25519"

    @property
    def host_key(self) -> Path:
        return self.workdir / "host_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    @property
    def logs_dir(self) -> Path:
        return self.workdir / "logs"

    @property
    def log_path(self) -> Path:
        return self.workdir / "sshd.log"

    def source(self, source_id: str = "car", **more: object) -> dict[str, object]:
        """The station's source settings for this car."""
        return {"id": source_id, "kind": "sftp", "host": self.host, "port": self.port, "user": self.user,
                "key": str(self.client_key), "known_hosts": str(self.known_hosts),
                "remote_dir": str(self.logs_dir), **more}

    def _config(self) -> Path:
        path = self.workdir / "sshd_config"
        path.write_text(
            f"ListenAddress {self.host}\nPort {self.port}\nHostKey {self.host_key}\n"
            f"PidFile {self.workdir / 'sshd.pid'}\nAuthorizedKeysFile {self.workdir / 'authorized_keys'}\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nLogLevel VERBOSE\n"
            f"AllowUsers {self.user}\nSubsystem sftp internal-sftp\nMaxStartups 50\nMaxSessions 50\n"
            "ClientAliveInterval 5\nClientAliveCountMax 3\n"
            # A session's shell must not run this machine's ~/.bashrc (bash reads it under
            # sshd): a kill mid-`pyenv rehash` there leaves a lock every later command waits
            # 60 s on. The car's own home is its work folder.
            + (f"SetEnv HOME={self.workdir}\n" if _openssh_version() >= (8, 7) else "")
            # OpenSSH 9.8+ refuses a source after failed or aborted logins (the wrong-key
            # tests, the readiness probe, killed sessions): every client here is 127.0.0.1.
            + ("PerSourcePenalties no\n" if _openssh_version() >= (9, 8) else "")
        )
        return path

    def start(self) -> CarSSH:
        if not Path(SSHD).exists():
            raise SSHDUnavailable(f"{SSHD} is missing: run scripts/ensure-sshd.sh (installs Debian's openssh-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        _keygen(self.host_key, "pitwall-car-host")
        _keygen(self.client_key, "pitwall-station")
        shutil.copyfile(self.client_key.with_suffix(".pub"), self.workdir / "authorized_keys")
        host_pub = self.host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
        self.proc = ManagedProcess("sshd", [SSHD, "-D", "-e", "-f", str(self._config())], log_path=self.log_path)
        self.proc.start()
        try:
            wait_until(lambda: _banner(self.port), what=f"sshd on port {self.port}", timeout=15, watch=[self.proc])
        except Exception as exc:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            self.stop()
            raise SSHDUnavailable(f"sshd did not start: {exc}\n{log}") from None
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive

    def _freeze(self) -> list[psutil.Process]:
        """SIGSTOP the daemon, then every process under it until no new one appears.

        Each connection runs in its own session (sshd calls setsid), out of reach of a
        signal to the daemon's process group; frozen first, a connection accepted or a
        session forked while we look cannot slip through. Returns the sessions.
        """
        import psutil

        if not self.alive() or self.proc is None or self.proc.pid is None:
            return []
        try:
            daemon = psutil.Process(self.proc.pid)
            daemon.send_signal(signal.SIGSTOP)
        except psutil.NoSuchProcess:
            return []
        frozen: dict[int, psutil.Process] = {}
        while True:
            try:
                new = [p for p in daemon.children(recursive=True) if p.pid not in frozen]
            except psutil.NoSuchProcess:
                break
            if not new:
                break
            _signal(new, signal.SIGSTOP)
            frozen |= {p.pid: p for p in new}
        return list(frozen.values())

    def kill(self) -> None:
        """SIGKILL the daemon and every session it serves: transfers stop mid-byte.

        When this returns, no process of the daemon runs any more (the car is off).
        """
        sessions = self._freeze()
        _signal(sessions, signal.SIGKILL)
        if self.proc is not None:
            self.proc.kill()  # SIGKILL works on stopped processes
        _wait_gone(sessions, 5.0)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the daemon and its sessions, SIGKILL what is left after `timeout`."""
        sessions = self._freeze()
        if self.proc is not None and self.alive() and self.proc.pid is not None:
            # Pending until SIGCONT: the daemon exits before it accepts anything else.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
                os.kill(self.proc.pid, signal.SIGCONT)
        _signal(sessions, signal.SIGTERM)
        _signal(sessions, signal.SIGCONT)
        if self.proc is not None:
            self.proc.stop(timeout)
        left = _wait_gone(sessions, timeout)
        _signal(left, signal.SIGKILL)
        _wait_gone(left, 5.0)

    def restart(self) -> CarSSH:
        self.kill()
        deadline = time.monotonic() + 5
        while _banner(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.start()


def start_car_sshd(workdir: Path, port: int | None = None) -> CarSSH:
    return CarSSH(workdir, port or free_port()).start()
