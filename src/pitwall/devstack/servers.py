"""Start MongoDB, S3 and RabbitMQ for tests or the dev stack; stop all of them cleanly.

Two back-ends behind one result (`Endpoints`):
- local: SecantusDB and SeaweedFS as child processes on free ports with their data in
  a directory; RabbitMQ is the machine's broker on 127.0.0.1:5672 when it answers, else
  a private node (installed by scripts/ensure-rabbitmq.sh when missing);
- docker: the official images through testcontainers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pitwall.devstack import mongo, rabbit, s3
from pitwall.devstack.endpoints import Endpoints
from pitwall.devstack.ports import free_port, release
from pitwall.devstack.process import ManagedProcess, install_signal_safety_net

Backend = Literal["auto", "local", "docker"]
RabbitChoice = Literal["auto", "machine", "private"]


@dataclass(frozen=True)
class PortPlan:
    """Ports to try first (a dev stack keeps its ports across restarts); None = any free one."""

    mongo: int | None = None
    s3: s3.WeedPorts | None = None
    amqp: int | None = None


@dataclass
class Servers:
    endpoints: Endpoints
    timings: dict[str, float] = field(default_factory=dict)  # seconds from start to answering
    notes: list[str] = field(default_factory=list)  # what was decided, for people
    ports: dict[str, Any] = field(default_factory=dict)
    _stoppers: list[Callable[[], object]] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        stoppers, self._stoppers = self._stoppers, []
        _stop_parallel(stoppers)

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop_parallel(stoppers: list[Callable[[], object]]) -> None:
    """In parallel: weed alone takes a few seconds to drain."""
    threads = [threading.Thread(target=fn, daemon=True) for fn in stoppers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def resolve_backend(choice: str) -> Literal["local", "docker"]:
    if choice not in ("auto", "local", "docker"):
        raise ValueError(f"PITWALL_TEST_BACKEND must be auto, local or docker, not {choice!r}")
    if choice == "docker":
        return "docker"
    if choice == "local":
        return "local"
    from pitwall.devstack.docker import docker_engine_answers

    return "docker" if docker_engine_answers() else "local"


def start_servers(
    data_dir: Path,
    *,
    backend: Backend = "auto",
    rabbit_choice: RabbitChoice = "auto",
    preferred: PortPlan | None = None,
    access_key: str = "minioadmin",
    secret_key: str = "minioadmin",
    repo_root: Path | None = None,
) -> Servers:
    if resolve_backend(backend) == "docker":
        from pitwall.devstack.docker import start_docker_servers

        started = start_docker_servers(access_key, secret_key)
        return Servers(
            started.endpoints, started.timings, ["docker: mongo:7, rabbitmq:3-management, minio/minio"],
            _stoppers=[started.stop],
        )
    return start_local_servers(
        data_dir, rabbit_choice=rabbit_choice, preferred=preferred or PortPlan(),
        access_key=access_key, secret_key=secret_key, repo_root=repo_root,
    )


def start_local_servers(
    data_dir: Path,
    *,
    rabbit_choice: RabbitChoice = "auto",
    preferred: PortPlan = PortPlan(),
    access_key: str = "minioadmin",
    secret_key: str = "minioadmin",
    repo_root: Path | None = None,
) -> Servers:
    if rabbit_choice not in ("auto", "machine", "private"):
        raise ValueError(f"RabbitMQ choice must be auto, machine or private, not {rabbit_choice!r}")
    data_dir = data_dir.resolve()
    logs = data_dir / "logs"
    install_signal_safety_net()
    stoppers: list[Callable[[], object]] = []
    notes: list[str] = []
    timings: dict[str, float] = {}
    claimed: list[int] = []

    pool = ThreadPoolExecutor(2, thread_name_prefix="wait-server")
    try:
        mongo_port = free_port(preferred.mongo)
        weed_ports = s3.WeedPorts.choose(preferred.s3)
        claimed += [mongo_port, *weed_ports.all()]
        notes += _moved("MongoDB", preferred.mongo, mongo_port)
        notes += _moved("S3", preferred.s3.s3 if preferred.s3 else None, weed_ports.s3)

        # Both start in the background while RabbitMQ is found or started.
        mongo_proc = mongo.start_secantus(data_dir / "mongo", mongo_port, logs / "mongodb.log")
        stoppers.append(mongo_proc.stop)
        weed_proc = s3.start_weed(data_dir / "s3", weed_ports, access_key, secret_key, logs / "s3.log")
        stoppers.append(lambda: s3.stop_weed(weed_proc, weed_ports))
        url = mongo.mongo_url(mongo_port)
        s3_endpoint = f"127.0.0.1:{weed_ports.s3}"
        mongo_ready = pool.submit(_ready_after, lambda: mongo.wait_mongo(url, mongo_proc), mongo_proc)
        s3_ready = pool.submit(_ready_after, lambda: s3.wait_s3(s3_endpoint, access_key, secret_key, weed_proc),
                               weed_proc)

        # On this thread, not in the pool: a private node must be forked by a thread
        # that outlives it (PDEATHSIG).
        broker = _rabbit(data_dir, logs, rabbit_choice, preferred.amqp, repo_root)
        claimed += broker.claimed
        if broker.stop is not None:
            stoppers.append(broker.stop)
        timings["rabbitmq"] = broker.seconds
        notes.append(broker.note)
        timings["mongodb"] = mongo_ready.result()
        timings["s3"] = s3_ready.result()
    except BaseException:
        _stop_parallel(stoppers)
        release(*claimed)
        raise
    finally:
        pool.shutdown()  # quick: a wait ends as soon as its process is gone
    stoppers.append(lambda: release(*claimed))
    endpoints = Endpoints(
        backend="local",
        amqp_host=broker.host,
        amqp_port=broker.port,
        mongo_url=url,
        s3_endpoint=s3_endpoint,
        s3_access_key=access_key,
        s3_secret_key=secret_key,
        rabbit_admin=broker.admin,
    )
    ports = {"mongo": mongo_port, "s3": weed_ports, "amqp": broker.port if broker.stop else None}
    return Servers(endpoints, timings, notes, ports, stoppers)


def _ready_after(wait: Callable[[], object], proc: ManagedProcess) -> float:
    """Seconds from the process start until `wait` saw it answer."""
    wait()
    assert proc.started_at is not None
    return time.monotonic() - proc.started_at


def _moved(what: str, wanted: int | None, got: int) -> list[str]:
    if wanted is not None and wanted != got:
        return [f"{what}: port {wanted} is taken by another program, using {got}"]
    return []


@dataclass
class _Broker:
    host: str
    port: int
    admin: rabbit.RabbitAdmin
    note: str
    seconds: float
    stop: Callable[[], None] | None = None  # None: not ours to stop
    claimed: list[int] = field(default_factory=list)


def _rabbit(
    data_dir: Path, logs: Path, choice: RabbitChoice, preferred_port: int | None, repo_root: Path | None
) -> _Broker:
    t0 = time.monotonic()
    if choice in ("auto", "machine"):
        host, port = rabbit.MACHINE_HOST, rabbit.MACHINE_PORT
        if rabbit.amqp_answers(f"amqp://guest:guest@{host}:{port}/"):
            admin = rabbit.machine_admin()
            return _Broker(host, port, admin, f"RabbitMQ: the machine's broker at {host}:{port}", time.monotonic() - t0)
        if choice == "machine":
            raise RuntimeError(f"no RabbitMQ answers at {host}:{port} (guest/guest)")
    scripts = rabbit.ensure_installed(repo_root or _repo_root())
    t0 = time.monotonic()  # installing is not starting
    ports = [free_port(preferred_port), free_port(), free_port()]
    amqp_port, dist_port, epmd_port = ports
    try:
        # One node name per data dir: the node files its data (mnesia) under its name,
        # so a stable name is what makes the data survive a restart.
        digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:8]
        node = rabbit.start_private_node(
            scripts, data_dir / "rabbitmq", nodename=f"pitwall-{digest}@localhost",
            amqp_port=amqp_port, dist_port=dist_port, epmd_port=epmd_port, log_dir=logs,
        )
    except BaseException:
        release(*ports)
        raise
    note = f"RabbitMQ: private node {node.nodename} on 127.0.0.1:{amqp_port}"
    if preferred_port is not None and preferred_port != amqp_port:
        note += f" (port {preferred_port} is taken by another program)"
    return _Broker("127.0.0.1", amqp_port, node.admin, note, time.monotonic() - t0, node.stop, ports)


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "scripts" / "ensure-rabbitmq.sh").exists():
            return parent
    return Path.cwd()
