"""RabbitMQ: reuse the machine's broker, or run a private node; vhost administration.

A private node runs in the foreground beside any other broker: its own node name,
AMQP and distribution ports, Erlang port mapper (epmd) port, data and log dirs. We start
epmd ourselves, in the foreground, so that it is our child and stops with the node
instead of lingering as a daemon.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

import httpx

from pitwall.devstack.process import ManagedProcess
from pitwall.devstack.waiting import port_open, wait_until

MACHINE_HOST = "127.0.0.1"
MACHINE_PORT = 5672
MANAGEMENT_PORT = 15672
# Debian/Ubuntu put the real scripts here; /usr/sbin/rabbitmq-* are wrappers that `su`
# to the rabbitmq user, which would read the wrong Erlang cookie and data dirs.
_DEBIAN_BIN = Path("/usr/lib/rabbitmq/bin")


class RabbitAdmin(Protocol):
    """The operations test isolation needs; AMQP itself cannot create vhosts."""

    def add_vhost(self, vhost: str, user: str) -> None: ...
    def delete_vhost(self, vhost: str) -> None: ...
    def list_vhosts(self) -> list[str]: ...


class CtlAdmin:
    """Through `rabbitmqctl` (works without the management plugin)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.env = env

    def _run(self, *args: str) -> str:
        done = subprocess.run(
            [*self.argv, "-q", *args], capture_output=True, text=True, timeout=60, env=self.env, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[:500]}")
        return done.stdout

    def add_vhost(self, vhost: str, user: str) -> None:
        self._run("add_vhost", vhost)
        self._run("set_permissions", "-p", vhost, user, ".*", ".*", ".*")

    def delete_vhost(self, vhost: str) -> None:
        self._run("delete_vhost", vhost)

    def list_vhosts(self) -> list[str]:
        return [line.strip() for line in self._run("list_vhosts").splitlines()
                if line.strip() and line.strip() != "name"]


class HttpAdmin:
    """Through the management HTTP API (the `rabbitmq:3-management` image has it)."""

    def __init__(self, base_url: str, user: str = "guest", password: str = "guest") -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = (user, password)

    def _request(self, method: str, path: str, json: object | None = None) -> httpx.Response:
        response = httpx.request(method, f"{self.base_url}/api/{path}", auth=self.auth, json=json, timeout=30)
        response.raise_for_status()
        return response

    def add_vhost(self, vhost: str, user: str) -> None:
        self._request("PUT", f"vhosts/{quote(vhost, safe='')}")
        self._request(
            "PUT", f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
            json={"configure": ".*", "write": ".*", "read": ".*"},
        )

    def delete_vhost(self, vhost: str) -> None:
        self._request("DELETE", f"vhosts/{quote(vhost, safe='')}")

    def list_vhosts(self) -> list[str]:
        return [v["name"] for v in self._request("GET", "vhosts").json()]


def amqp_answers(url: str, timeout: float = 3.0) -> bool:
    """True when a broker at `url` accepts the credentials (a full AMQP handshake)."""

    async def attempt() -> None:
        import aio_pika

        connection = await aio_pika.connect(url, timeout=timeout)
        await connection.close()

    parsed = urlsplit(url)
    if not port_open(parsed.port or MACHINE_PORT, parsed.hostname or MACHINE_HOST):
        return False  # cheaper, and spares the log aio-pika writes for each refused connect
    result: list[bool] = []

    # Our own event loop in a thread: callers may be inside pytest-asyncio's loop.
    def runner() -> None:
        try:
            asyncio.run(asyncio.wait_for(attempt(), timeout))
            result.append(True)
        except Exception:
            result.append(False)

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    thread.join(timeout + 2)
    return bool(result and result[0])


def machine_admin(user: str = "guest", password: str = "guest") -> RabbitAdmin:
    """How to manage vhosts on the machine's broker: HTTP API if enabled, else rabbitmqctl."""
    try:
        http = HttpAdmin(f"http://{MACHINE_HOST}:{MANAGEMENT_PORT}", user, password)
        http.list_vhosts()
        return http
    except (httpx.HTTPError, ValueError, KeyError):
        pass
    ctl = shutil.which("rabbitmqctl") or ("/usr/sbin/rabbitmqctl" if Path("/usr/sbin/rabbitmqctl").exists() else None)
    if ctl is None:
        raise RuntimeError(
            "the broker on 127.0.0.1:5672 answers, but neither its management API nor "
            "rabbitmqctl is available to create a vhost for this run"
        )
    admin = CtlAdmin([ctl])
    admin.list_vhosts()  # fails now, with the reason, rather than mid-test
    return admin


def server_scripts() -> tuple[Path, Path] | None:
    """(rabbitmq-server, rabbitmqctl) that run as the current user, or None."""
    if (_DEBIAN_BIN / "rabbitmq-server").exists():
        return _DEBIAN_BIN / "rabbitmq-server", _DEBIAN_BIN / "rabbitmqctl"
    found = shutil.which("rabbitmq-server")
    if found:
        real = Path(found).resolve()
        ctl = real.with_name("rabbitmqctl")
        if ctl.exists():
            return real, ctl
    return None


def ensure_installed(repo_root: Path) -> tuple[Path, Path]:
    """Install RabbitMQ with the project's script when it is missing (apt, as root)."""
    scripts = server_scripts()
    if scripts is not None:
        return scripts
    script = repo_root / "scripts" / "ensure-rabbitmq.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    scripts = server_scripts()
    if scripts is None:
        raise RuntimeError(f"{script} ran, but rabbitmq-server is still not installed")
    return scripts


def _epmd_binary() -> str:
    found = shutil.which("epmd")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/erlang").glob("erts-*/bin/epmd"), reverse=True):
        return str(candidate)
    raise RuntimeError("epmd (Erlang port mapper) not found; is Erlang installed?")


@dataclass
class PrivateNode:
    """A RabbitMQ node of our own; `processes` stop in reverse order (node, then epmd)."""

    nodename: str
    amqp_port: int
    dist_port: int
    epmd_port: int
    processes: list[ManagedProcess]
    admin: CtlAdmin

    def stop(self, timeout: float = 20.0) -> None:
        for proc in reversed(self.processes):
            proc.stop(timeout)


def start_private_node(
    scripts: tuple[Path, Path],
    base_dir: Path,
    *,
    nodename: str,
    amqp_port: int,
    dist_port: int,
    epmd_port: int,
    log_dir: Path,
    timeout: float = 90.0,
) -> PrivateNode:
    server, ctl = scripts
    base_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    (base_dir / "mnesia").mkdir(exist_ok=True)
    (base_dir / "enabled_plugins").write_text("[].\n")
    (base_dir / "rabbitmq.conf").write_text(
        "loopback_users.guest = true\n"
        # A developer's nearly full disk must not block publishers.
        "disk_free_limit.absolute = 50MB\n"
    )
    env = {
        **os.environ,
        "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODENAME": nodename,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(amqp_port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_MNESIA_BASE": str(base_dir / "mnesia"),
        "RABBITMQ_LOG_BASE": str(log_dir / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base_dir / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(base_dir / "rabbitmq.conf"),
        "RABBITMQ_PID_FILE": str(base_dir / "rabbitmq.pid"),
    }
    epmd = ManagedProcess(
        "epmd", [_epmd_binary(), "-port", str(epmd_port)], env=env, log_path=log_dir / "epmd.log"
    ).start()
    processes = [epmd]
    try:
        wait_until(lambda: port_open(epmd_port), what="epmd", timeout=10, watch=[epmd])
        node = ManagedProcess(
            "rabbitmq", [str(server)], env=env, cwd=base_dir, log_path=log_dir / "rabbitmq.log",
            term_leader_only=True, stop_timeout=20.0,
        ).start()
        processes.append(node)
        url = f"amqp://guest:guest@127.0.0.1:{amqp_port}/"
        wait_until(
            lambda: amqp_answers(url, timeout=2.0), what="RabbitMQ", timeout=timeout, watch=[node], interval=0.25
        )
    except BaseException:
        for proc in reversed(processes):
            proc.stop(10)
        raise
    return PrivateNode(nodename, amqp_port, dist_port, epmd_port, processes,
                       CtlAdmin([str(ctl), "-n", nodename], env=env))

