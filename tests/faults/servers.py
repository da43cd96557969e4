"""A private set of servers for the campaign, each stoppable and restartable on its own.

MongoDB (SecantusDB), S3 (SeaweedFS) and a private RabbitMQ node run as our child
processes on ports fixed for the whole campaign, their data in one directory, so a
stop/start keeps both the data and the addresses the services were given. The
machine's broker on 5672 is shared with other people's tests and is never touched.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from pitwall.devstack import mongo, rabbit, s3
from pitwall.devstack.endpoints import Endpoints
from pitwall.devstack.ports import free_port, release
from pitwall.devstack.process import ManagedProcess, install_signal_safety_net

ACCESS_KEY, SECRET_KEY = "faultsadmin", "faultsadmin-secret"
SERVERS = ("mongodb", "s3", "rabbitmq")


@dataclass
class PrivateServers:
    root: Path
    repo: Path
    mongo_port: int = 0
    weed_ports: s3.WeedPorts | None = None
    amqp_ports: tuple[int, int, int] = (0, 0, 0)  # amqp, dist, epmd
    _mongo: ManagedProcess | None = None
    _weed: ManagedProcess | None = None
    _rabbit: rabbit.PrivateNode | None = None
    _admin: rabbit.CtlAdmin | None = None
    starts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVERS, 0))

    @classmethod
    def start(cls, root: Path, repo: Path) -> PrivateServers:
        install_signal_safety_net()
        self = cls(root.resolve(), repo)
        self.mongo_port = free_port()
        self.weed_ports = s3.WeedPorts.choose()
        self.amqp_ports = (free_port(), free_port(), free_port())
        try:
            for name in SERVERS:
                self.start_server(name)
        except BaseException:
            self.stop_all()
            raise
        return self

    # -- one server -------------------------------------------------------------------
    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def mongo_url(self) -> str:
        return mongo.mongo_url(self.mongo_port)

    @property
    def s3_endpoint(self) -> str:
        assert self.weed_ports is not None
        return f"127.0.0.1:{self.weed_ports.s3}"

    def data_dir(self, name: str) -> Path:
        return self.root / {"mongodb": "mongo", "s3": "s3", "rabbitmq": "rabbitmq"}[name]

    def start_server(self, name: str, timeout: float = 90.0) -> float:
        """Start one server on its campaign ports and data; seconds until it answers."""
        t0 = time.monotonic()
        if name == "mongodb":
            self._mongo = mongo.start_secantus(self.data_dir(name), self.mongo_port, self.logs / "mongodb.log")
            mongo.wait_mongo(self.mongo_url, self._mongo, timeout=timeout)
        elif name == "s3":
            assert self.weed_ports is not None
            self._weed = s3.start_weed(self.data_dir(name), self.weed_ports, ACCESS_KEY, SECRET_KEY,
                                       self.logs / "s3.log")
            s3.wait_s3(self.s3_endpoint, ACCESS_KEY, SECRET_KEY, self._weed, timeout=timeout)
        elif name == "rabbitmq":
            scripts = rabbit.ensure_installed(self.repo)
            amqp, dist, epmd = self.amqp_ports
            # The node files its queues under its name: the same name keeps them.
            digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:8]
            self._rabbit = rabbit.start_private_node(
                scripts, self.data_dir(name), nodename=f"pitwall-faults-{digest}@localhost",
                amqp_port=amqp, dist_port=dist, epmd_port=epmd, log_dir=self.logs, timeout=timeout,
            )
            self._admin = self._rabbit.admin
        else:
            raise ValueError(f"unknown server {name!r}")
        self.starts[name] += 1
        return time.monotonic() - t0

    def stop_server(self, name: str) -> None:
        """An orderly stop (SIGTERM): SecantusDB loses acknowledged writes on SIGKILL
        (checked while building this campaign), which would be a fault of the test bed."""
        if name == "mongodb" and self._mongo is not None:
            self._mongo.stop()
        elif name == "s3" and self._weed is not None:
            assert self.weed_ports is not None
            s3.stop_weed(self._weed, self.weed_ports)
        elif name == "rabbitmq" and self._rabbit is not None:
            self._rabbit.stop()

    def queue_depths(self) -> dict[str, tuple[int, int]]:
        """Ready and unacknowledged messages per non-empty queue (rabbitmqctl: the private
        node has no management plugin)."""
        assert self._admin is not None
        done = subprocess.run(
            [*self._admin.argv, "-q", "list_queues", "name", "messages_ready", "messages_unacknowledged"],
            capture_output=True, text=True, timeout=60, env=self._admin.env, check=False,
        )
        out: dict[str, tuple[int, int]] = {}
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() and (int(parts[1]) or int(parts[2])):
                out[parts[0]] = (int(parts[1]), int(parts[2]))
        return out

    def alive(self, name: str) -> bool:
        if name == "mongodb":
            return self._mongo is not None and self._mongo.alive
        if name == "s3":
            return self._weed is not None and self._weed.alive
        return self._rabbit is not None and all(p.alive for p in self._rabbit.processes)

    def endpoints(self) -> Endpoints:
        assert self._admin is not None
        return Endpoints(
            backend="local", amqp_host="127.0.0.1", amqp_port=self.amqp_ports[0], mongo_url=self.mongo_url,
            s3_endpoint=self.s3_endpoint, s3_access_key=ACCESS_KEY, s3_secret_key=SECRET_KEY,
            rabbit_admin=self._admin,
        )

    def stop_all(self) -> None:
        for name in reversed(SERVERS):
            try:
                self.stop_server(name)
            except Exception:  # stop the others whatever happened to this one
                pass
        ports = [self.mongo_port, *self.amqp_ports, *(self.weed_ports.all() if self.weed_ports else [])]
        release(*(p for p in ports if p))
