"""The same servers from the official images, where a Docker engine answers.

testcontainers' Ryuk reaper removes the containers even if this process is killed;
`stop()` removes them at once in the orderly case. Readiness is checked with the same
client calls as the local back-end, not with image-specific log lines.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pitwall.devstack.endpoints import Endpoints
from pitwall.devstack.mongo import mongo_answers, mongo_url
from pitwall.devstack.rabbit import HttpAdmin, amqp_answers
from pitwall.devstack.s3 import make_client, s3_answers

MONGO_IMAGE = "mongo:7"
RABBITMQ_IMAGE = "rabbitmq:3-management"
MINIO_IMAGE = "minio/minio"


def docker_engine_answers(timeout: float = 2.0) -> bool:
    # Where docker.from_env() would look; skipping the SDK import saves a second per run.
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker

        client = docker.from_env(timeout=int(max(1, timeout)))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK, no socket, engine down: all mean "no"
        return False


@dataclass
class DockerServers:
    endpoints: Endpoints
    containers: list[Any] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def stop(self) -> None:
        _stop_containers(self.containers)


def _stop_containers(containers: list[Any]) -> None:
    for container in reversed(containers):
        try:
            container.stop()
        except Exception:  # Ryuk removes what we could not
            pass
    containers.clear()


def _wait(what: str, check: Callable[[], bool], timeout: float) -> None:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} container did not answer within {timeout:.0f} s")
        time.sleep(0.25)


def start_docker_servers(access_key: str, secret_key: str, timeout: float = 180.0) -> DockerServers:
    from testcontainers.core.container import DockerContainer

    started: list[Any] = []
    timings: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        mongo = DockerContainer(MONGO_IMAGE).with_exposed_ports(27017)
        # The image's own config lets guest/guest log in from outside the container.
        rabbit = DockerContainer(RABBITMQ_IMAGE).with_exposed_ports(5672, 15672)
        minio = (
            DockerContainer(MINIO_IMAGE)
            .with_exposed_ports(9000)
            .with_env("MINIO_ROOT_USER", access_key)
            .with_env("MINIO_ROOT_PASSWORD", secret_key)
            .with_command("server /data")
        )
        for container in (mongo, rabbit, minio):
            container.start()
            started.append(container)

        host = mongo.get_container_host_ip()
        m_url = mongo_url(int(mongo.get_exposed_port(27017)), host)
        _wait("mongo", lambda: mongo_answers(m_url), timeout)
        timings["mongodb"] = time.monotonic() - t0  # all three have been starting since t0

        r_host = rabbit.get_container_host_ip()
        r_port = int(rabbit.get_exposed_port(5672))
        admin = HttpAdmin(f"http://{r_host}:{rabbit.get_exposed_port(15672)}")
        _wait("rabbitmq", lambda: amqp_answers(f"amqp://guest:guest@{r_host}:{r_port}/"), timeout)
        _wait("rabbitmq management", lambda: _http_admin_answers(admin), timeout)
        timings["rabbitmq"] = time.monotonic() - t0

        s3_endpoint = f"{minio.get_container_host_ip()}:{minio.get_exposed_port(9000)}"
        client = make_client(s3_endpoint, access_key, secret_key)
        _wait("minio", lambda: s3_answers(client), timeout)
        timings["s3"] = time.monotonic() - t0

        endpoints = Endpoints(
            backend="docker",
            amqp_host=r_host,
            amqp_port=r_port,
            mongo_url=m_url,
            s3_endpoint=s3_endpoint,
            s3_access_key=access_key,
            s3_secret_key=secret_key,
            rabbit_admin=admin,
        )
        return DockerServers(endpoints, started, timings)
    except BaseException:
        _stop_containers(started)
        raise


def _http_admin_answers(admin: HttpAdmin) -> bool:
    try:
        admin.list_vhosts()
        return True
    except Exception:
        return False
