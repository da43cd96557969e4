"""A real OpenSSH sshd on a loopback port playing "the car" (tests, bench, demos).

Throwaway host and client keys, a known_hosts file that pins the host key, internal
SFTP, and nothing of the machine's own ssh set-up touched. `kill()` ends the daemon and
every connection it serves (a car switched off mid-transfer); `restart()` brings it back
on the same port with the same keys.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from pitwall.devstack.ports import free_port
from pitwall.devstack.process import ManagedProcess
from pitwall.devstack.waiting import wait_until

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

    def _connections(self) -> list[int]:
        import psutil

        if self.proc is None or self.proc.pid is None:
            return []
        try:
            return [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the daemon and every session it serves: transfers stop mid-byte."""
        children = self._connections()
        if self.proc is not None:
            self.proc.kill()
        for pid in children:  # sessions run in their own process groups (setsid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        children = self._connections()
        if self.proc is not None:
            self.proc.stop(5.0)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def restart(self) -> CarSSH:
        self.kill()
        deadline = time.monotonic() + 5
        while _banner(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.start()


def start_car_sshd(workdir: Path, port: int | None = None) -> CarSSH:
    return CarSSH(workdir, port or free_port()).start()
