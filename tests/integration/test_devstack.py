"""The local servers, the per-run isolation and the process handling behind `make test`/`make up`."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import aio_pika
import aiormq
import httpx
import psutil
import pytest
from minio.error import S3Error
from pymongo import MongoClient
from testsupport.waiting import wait_for

from pitwall.common.settings import Settings
from pitwall.devstack import rabbit
from pitwall.devstack.endpoints import Endpoints, settings_env
from pitwall.devstack.isolation import Isolation, provision, teardown
from pitwall.devstack.ports import free_port
from pitwall.devstack.process import ManagedProcess, live_processes
from pitwall.devstack.s3 import make_client
from pitwall.devstack.servers import PortPlan, start_local_servers


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if not _gone(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


def _tree(pid: int) -> list[int]:
    proc = psutil.Process(pid)
    return [pid, *(c.pid for c in proc.children(recursive=True))]


def _mongo(settings: Settings) -> MongoClient[dict[str, Any]]:
    return MongoClient(settings.mongo_url, serverSelectionTimeoutMS=5000)


def _s3(settings: Settings) -> Any:
    return make_client(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key)


# -- settings travel to child processes --------------------------------------------------
def test_a_child_process_reads_back_the_same_settings() -> None:
    original = Settings(
        amqp_url="amqp://guest:guest@127.0.0.1:5999/pitwall-test-x",
        mongo_db="pitwall_test_x",
        bucket_prefix="tx-",
        retry_backoff_s=[0.3, 0.9],
        s3_secure=True,
        data_dir=Path("/somewhere/else"),
        http_port=18999,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")} | settings_env(original)
    code = "from pitwall.common.settings import Settings; print(Settings().model_dump_json())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert Settings.model_validate_json(out) == original


# -- the servers answer, in this run's own corner ---------------------------------------
@pytest.mark.asyncio(loop_scope="session")
async def test_servers_answer_in_this_runs_vhost_database_and_buckets(settings: Settings, endpoints: Endpoints) -> None:
    with _mongo(settings) as client:
        assert client.admin.command("ping")["ok"] == 1
        client[settings.mongo_db]["probe"].insert_one({"_id": "a", "lap": 3})
        assert client[settings.mongo_db]["probe"].find_one({"_id": "a"}) == {"_id": "a", "lap": 3}

    s3 = _s3(settings)
    assert settings.bucket_mcap.startswith(settings.bucket_prefix) and settings.bucket_prefix
    if not s3.bucket_exists(settings.bucket_mcap):
        s3.make_bucket(settings.bucket_mcap)
    payload = bytes(range(256)) * 64
    s3.put_object(settings.bucket_mcap, "mcap/probe.mcap", io.BytesIO(payload), len(payload))
    assert s3.get_object(settings.bucket_mcap, "mcap/probe.mcap").read() == payload
    assert s3.get_object(settings.bucket_mcap, "mcap/probe.mcap", offset=100, length=50).read() == payload[100:150]

    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue("devstack-probe", durable=True)
        confirm = await channel.default_exchange.publish(aio_pika.Message(b"hello"), routing_key=queue.name)
        assert isinstance(confirm, aiormq.spec.Basic.Ack)
        message = await queue.get(timeout=5, no_ack=True)
        assert message is not None and message.body == b"hello"
    finally:
        await connection.close()
    # The queue lives in this run's vhost only, not in `/` where a dev stack works.
    assert await _queue_messages(endpoints.amqp_url, "devstack-probe") is None


async def _queue_messages(url: str, name: str) -> int | None:
    """Messages ready in queue `name` at `url`, None when the queue does not exist there."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(name, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            return None
        return queue.declaration_result.message_count
    finally:
        await connection.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_second_run_sees_none_of_the_first_and_its_clean_up_spares_the_first(
    settings: Settings, endpoints: Endpoints
) -> None:
    # What the first run (this session) leaves in each server:
    with _mongo(settings) as client:
        client[settings.mongo_db]["runs"].insert_one({"name": "first"})
    s3 = _s3(settings)
    if not s3.bucket_exists(settings.bucket_exports):
        s3.make_bucket(settings.bucket_exports)
    s3.put_object(settings.bucket_exports, "first.mat", io.BytesIO(b"first"), 5)
    connection = await aio_pika.connect(settings.amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue("isolation-check", durable=True)
    await channel.default_exchange.publish(aio_pika.Message(b"first"), routing_key=queue.name)
    await connection.close()

    second = Isolation.new()
    provision(endpoints, second)
    try:
        other = second.settings(endpoints)
        assert {other.amqp_url, other.mongo_db, other.bucket_exports}.isdisjoint(
            {settings.amqp_url, settings.mongo_db, settings.bucket_exports}
        )
        with _mongo(other) as client:
            assert client[other.mongo_db]["runs"].count_documents({}) == 0
            client[other.mongo_db]["runs"].insert_one({"name": "second"})
        assert not s3.bucket_exists(other.bucket_exports)
        s3.make_bucket(other.bucket_exports)
        s3.put_object(other.bucket_exports, "second.mat", io.BytesIO(b"second"), 6)
        assert await _queue_messages(other.amqp_url, "isolation-check") is None
    finally:
        teardown(endpoints, second)

    # The second run's things are gone...
    assert second.vhost not in endpoints.rabbit_admin.list_vhosts()
    with _mongo(settings) as client:
        assert other.mongo_db not in client.list_database_names()
        # ...and the first run's are intact.
        assert client[settings.mongo_db]["runs"].count_documents({"name": "first"}) == 1
    assert not [b.name for b in s3.list_buckets() if b.name.startswith(second.bucket_prefix)]
    assert s3.get_object(settings.bucket_exports, "first.mat").read() == b"first"
    assert await _queue_messages(settings.amqp_url, "isolation-check") == 1


# -- processes never outlive us ------------------------------------------------------------
def test_stop_reaches_grandchildren_and_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    polite = ManagedProcess("polite", ["bash", "-c", "sleep 300 & sleep 300 & wait"],
                            log_path=tmp_path / "p.log").start()
    # Ignored signals are inherited: neither bash nor its sleep will react to SIGTERM.
    stubborn = ManagedProcess(
        "stubborn", ["bash", "-c", "trap '' TERM; sleep 300 & wait"], log_path=tmp_path / "s.log"
    ).start()
    polite_pid, stubborn_pid = polite.pid, stubborn.pid
    assert polite_pid is not None and stubborn_pid is not None
    # Until each bash has started its sleeps (the stubborn one's trap is set before its sleep).
    wait_for(lambda: len(_tree(polite_pid)) == 3 and len(_tree(stubborn_pid)) == 2,
             "both shells to start their sleeps", timeout=10, every=0.05)
    polite_tree, stubborn_tree = _tree(polite_pid), _tree(stubborn_pid)
    assert len(polite_tree) == 3 and len(stubborn_tree) == 2

    t0 = time.monotonic()
    assert polite.stop(timeout=5) == -signal.SIGTERM
    assert time.monotonic() - t0 < 2
    assert _wait_gone(polite_tree) == []

    t0 = time.monotonic()
    assert stubborn.stop(timeout=1) == -signal.SIGKILL
    assert 0.9 < time.monotonic() - t0 < 5
    assert _wait_gone(stubborn_tree) == []
    assert polite not in live_processes() and stubborn not in live_processes()


def test_children_die_with_a_parent_that_is_sigkilled(tmp_path: Path) -> None:
    parent_code = textwrap.dedent(
        """
        import time
        from pitwall.devstack.process import ManagedProcess
        child = ManagedProcess("sleeper", ["sleep", "300"]).start()
        print(child.pid, flush=True)
        time.sleep(300)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    assert not _gone(child_pid)
    parent.kill()  # no atexit, no signal handler: only the kernel can tell the child
    parent.wait()
    assert _wait_gone([child_pid], timeout=5) == []


# -- local servers: ports, restart with data, nothing left behind ---------------------
def test_local_servers_avoid_taken_ports_keep_data_across_restarts_and_leave_no_process(tmp_path: Path) -> None:
    data = tmp_path / "stack"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        before = set(live_processes())  # the session's servers are not this test's
        servers = start_local_servers(data, preferred=PortPlan(mongo=taken))
        ours = [pid for p in set(live_processes()) - before if p.pid is not None for pid in _tree(p.pid)]
        assert len(ours) >= 2
        try:
            assert f"port {taken} is taken" in " ".join(servers.notes)
            assert f":{taken}/" not in servers.endpoints.mongo_url
            settings = servers.endpoints.settings(mongo_db="keep", bucket_prefix="keep-")
            with _mongo(settings) as client:
                client.keep.runs.insert_one({"_id": "run-1", "track": "Michigan"})
            s3 = _s3(settings)
            s3.make_bucket(settings.bucket_mcap)
            s3.put_object(settings.bucket_mcap, "mcap/a.mcap", io.BytesIO(b"MCAP"), 4)
            first_ports = servers.ports
        finally:
            servers.stop()
    assert _wait_gone(ours) == []
    assert first_ports["mongo"] != taken

    with start_local_servers(data, preferred=PortPlan(mongo=first_ports["mongo"], s3=first_ports["s3"])) as again:
        settings = again.endpoints.settings(mongo_db="keep", bucket_prefix="keep-")
        with _mongo(settings) as client:
            assert client.keep.runs.find_one({"_id": "run-1"}) == {"_id": "run-1", "track": "Michigan"}
        assert _s3(settings).get_object(settings.bucket_mcap, "mcap/a.mcap").read() == b"MCAP"


@pytest.mark.skipif(rabbit.server_scripts() is None, reason="rabbitmq-server is not installed")
def test_private_rabbitmq_node_keeps_durable_messages_across_restart_and_stops_completely(tmp_path: Path) -> None:
    scripts = rabbit.server_scripts()
    assert scripts is not None
    ports = {"amqp_port": free_port(), "dist_port": free_port(), "epmd_port": free_port()}
    url = f"amqp://guest:guest@127.0.0.1:{ports['amqp_port']}/"

    def start() -> rabbit.PrivateNode:
        return rabbit.start_private_node(
            scripts, tmp_path / "rabbitmq", nodename=f"pitwall-t{os.getpid()}@localhost", log_dir=tmp_path / "logs",
            **ports,
        )

    node = start()
    try:
        node.admin.add_vhost("private-check", "guest")
        assert "private-check" in node.admin.list_vhosts()
        _run_async(_publish_persistent(url, "kept", b"survives"))
    finally:
        pids = [pid for p in node.processes if p.pid is not None for pid in _tree(p.pid)]
        node.stop()
    assert _wait_gone(pids) == []
    assert not rabbit.amqp_answers(url, timeout=1)

    node = start()
    try:
        assert _run_async(_get(url, "kept")) == b"survives"
        assert "private-check" in node.admin.list_vhosts()
    finally:
        node.stop()


def _run_async(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


async def _publish_persistent(url: str, queue_name: str, body: bytes) -> None:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(queue_name, durable=True)
        await channel.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=queue.name
        )
    finally:
        await connection.close()


async def _get(url: str, queue_name: str) -> bytes | None:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)
        message = await queue.get(timeout=5, fail=False, no_ack=True)
        return message.body if message else None
    finally:
        await connection.close()


# -- the service fixture ---------------------------------------------------------------------
def test_a_service_can_be_killed_and_restarted(pitwall_service: Any) -> None:
    api = pitwall_service("query_api")  # returns once /readyz is 200
    body = httpx.get(f"{api.base_url}/readyz", timeout=5).json()
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "mongodb": "up", "broker": "up", "s3": "up"
    }
    first_pid = api.pid
    api.kill()
    assert not api.alive and api.returncode == -signal.SIGKILL
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{api.base_url}/healthz", timeout=2)
    api.restart()
    api.wait_ready()
    assert api.pid != first_pid
    assert httpx.get(f"{api.base_url}/healthz", timeout=5).status_code == 200
    assert "start #2" in api.log()


def test_s3_rejects_wrong_keys(endpoints: Endpoints) -> None:
    # The local S3 checks credentials like the real one (moto would not): a service with
    # a wrong key must fail, not silently work.
    wrong = make_client(endpoints.s3_endpoint, endpoints.s3_access_key, "not-the-secret")
    with pytest.raises(S3Error) as err:
        wrong.list_buckets()
    assert err.value.code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied")

