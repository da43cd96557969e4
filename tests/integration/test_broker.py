"""The broker helpers against the real RabbitMQ (a vhost of this test run)."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aio_pika
import aiormq
import pytest
from testsupport.waiting import wait_for_async

from pitwall.common import db
from pitwall.common.broker import (
    REASON_HEADER,
    Consumer,
    Publisher,
    connect,
    dead_letter_queue_name,
    declare_service,
    queue_name,
)
from pitwall.common.events import BackupDue, Event
from pitwall.common.idempotency import MongoIdempotencyStore
from pitwall.common.logging import correlation
from pitwall.common.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _drain(queue: aio_pika.abc.AbstractQueue, timeout: float = 5.0) -> list[aio_pika.abc.AbstractIncomingMessage]:
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = await queue.get(fail=False, no_ack=True)
        if msg is None:
            if got:
                break
            await asyncio.sleep(0.05)
            continue
        got.append(msg)
    return got


def _unique(settings: Settings, name: str) -> Settings:
    # Each test gets its own exchange so queues of earlier tests stay out of its way.
    return settings.model_copy(update={"exchange": f"{settings.exchange}.{name}.{os.getpid()}"})


async def test_publish_is_confirmed_and_carries_correlation_id(settings: Settings) -> None:
    s = _unique(settings, "confirm")
    conn = await connect(s)
    try:
        pub = await Publisher.open(conn, s)
        ch = await conn.channel()
        q = await ch.declare_queue(exclusive=True)
        await q.bind(pub.exchange, "backup.due")
        event = BackupDue(kind="full")
        with correlation("cid-123"):
            confirmation = await pub.publish(event)
        assert isinstance(confirmation, aiormq.spec.Basic.Ack)
        [msg] = await _drain(q)
        assert msg.routing_key == "backup.due"
        assert msg.correlation_id == "cid-123"
        assert msg.headers["x-correlation-id"] == "cid-123"
        assert msg.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert BackupDue.model_validate_json(msg.body) == event
    finally:
        await conn.close()


async def test_failing_handler_is_retried_with_backoff_then_dead_lettered(settings: Settings) -> None:
    s = _unique(settings, "retry").model_copy(update={"retry_backoff_s": [0.3, 0.9], "max_retries": 2})
    attempts: list[float] = []

    async def handler(event: Event, message: Any) -> None:
        attempts.append(time.monotonic())
        raise RuntimeError("sensor table missing")

    conn = await connect(s)
    try:
        consumer = Consumer(await conn.channel(), s, "retrytest", handler, bindings=("backup.due",))
        await consumer.start()
        pub = await Publisher.open(conn, s)
        await pub.publish(BackupDue())
        ch = await conn.channel()
        dead = await ch.declare_queue(dead_letter_queue_name(s, "retrytest"), durable=True, passive=True)
        msgs = await _drain(dead, timeout=10)
        assert len(msgs) == 1
        assert len(attempts) == 3  # first try + 2 retries
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        assert gaps[0] >= 0.25 and gaps[1] >= 0.8, gaps  # back-off grows
        reason = msgs[0].headers[REASON_HEADER]
        reason = reason.decode() if isinstance(reason, bytes) else reason
        assert "sensor table missing" in reason and "3 times" in reason
        await consumer.stop()
    finally:
        await conn.close()


async def test_malformed_message_is_dead_lettered_with_reason(settings: Settings) -> None:
    s = _unique(settings, "poison")
    calls = 0

    async def handler(event: Event, message: Any) -> None:
        nonlocal calls
        calls += 1

    conn = await connect(s)
    try:
        consumer = Consumer(await conn.channel(), s, "poisontest", handler, bindings=("backup.due",))
        queue = await consumer.start()
        pub = await Publisher.open(conn, s)
        await pub.exchange.publish(aio_pika.Message(b"{not json"), routing_key="backup.due")
        await pub.publish(BackupDue())  # the consumer keeps going after the bad one
        ch = await conn.channel()
        dead = await ch.declare_queue(dead_letter_queue_name(s, "poisontest"), durable=True, passive=True)
        [msg] = await _drain(dead)
        reason = msg.headers[REASON_HEADER]
        reason = reason.decode() if isinstance(reason, bytes) else reason
        assert "invalid 'backup.due' message" in reason
        await wait_for_async(lambda: _true(calls == 1), "one handler call", 5, every=0.05)
        assert queue.name == queue_name(s, "poisontest")
        await consumer.stop()
    finally:
        await conn.close()


async def test_an_event_published_before_its_consumer_ever_started_is_delivered(settings: Settings) -> None:
    # The base station uploads while the backup service is still being deployed: the
    # event must wait in the backup queue, not vanish for want of a binding.
    s = _unique(settings, "early")
    got: list[str] = []

    async def handler(event: Event, message: Any) -> None:
        got.append(event.event_id)

    conn = await connect(s)
    try:
        pub = await Publisher.open(conn, s)
        event = BackupDue(kind="full")
        await pub.publish(event)
        consumer = Consumer(await conn.channel(), s, "backup", handler)
        await consumer.start()
        await wait_for_async(lambda: _true(got == [event.event_id]), "the event delivered once", 10, every=0.05)
        await consumer.stop()
    finally:
        await conn.close()


async def _true(value: bool) -> bool:
    return value


async def test_same_message_twice_is_processed_once(settings: Settings) -> None:
    s = _unique(settings, "idem")
    client: Any = db.make_client(s)
    store = MongoIdempotencyStore(db.database(client, s)["idem_keys"])
    processed: list[str] = []

    async def handler(event: Event, message: Any) -> None:
        processed.append(event.event_id)

    conn = await connect(s)
    try:
        consumer = Consumer(
            await conn.channel(), s, "idemtest", handler, bindings=("backup.due",),
            idempotency_key=lambda e: e.event_id, store=store,
        )
        await consumer.start()
        pub = await Publisher.open(conn, s)
        event = BackupDue()
        await pub.publish(event)
        await pub.publish(event)  # a redelivery / a duplicate publish
        other = BackupDue()
        await pub.publish(other)
        await wait_for_async(lambda: _true(len(consumer.outcomes) == 3), "three outcomes", 10, every=0.05)
        assert sorted(processed) == sorted([event.event_id, other.event_id])
        assert sorted(o.status for o in consumer.outcomes) == ["duplicate", "ok", "ok"]
        await consumer.stop()
    finally:
        await conn.close()
        await client.close()


async def test_consumer_killed_mid_stream_loses_nothing(settings: Settings, service_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    s = _unique(settings, "kill")
    env = service_env | {"PITWALL_EXCHANGE": s.exchange}
    client: Any = db.make_client(s)
    database = db.database(client, s)
    script = Path(__file__).parent / "helpers" / "slow_consumer.py"

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, str(script), "0.05"], env=env, stdout=subprocess.PIPE, stderr=open(tmp_path / "err", "ab"),
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"consuming"
        return proc

    proc = start()
    conn = await connect(s)
    try:
        pub = await Publisher.open(conn, s)
        events = [BackupDue() for _ in range(60)]
        for e in events:
            await pub.publish(e)
        await wait_for_async(lambda: _gt(database["killtest_processed"], 10), "more than 10 processed", 20, every=0.05)
        proc.kill()  # SIGKILL: no chance to ack or clean up
        proc.wait()
        done_at_kill = await database["killtest_processed"].count_documents({})
        assert done_at_kill < len(events), "the kill came too late to test anything"
        proc = start()
        want = {e.event_id for e in events}

        async def all_done() -> bool:
            ids = {d["event_id"] async for d in database["killtest_processed"].find({}, {"event_id": 1})}
            return ids >= want

        await wait_for_async(all_done, "every event processed after the restart", 30, every=0.05)
    finally:
        proc.kill()
        proc.wait()
        await conn.close()
        await client.close()


async def test_a_message_that_keeps_killing_its_consumer_is_given_up_with_a_reason(
    settings: Settings, service_env: dict[str, str], tmp_path: Path
) -> None:
    # Each start dies on the message (like an out-of-memory kill); instead of a crash
    # loop until the broker drops it, a later start tells the hook why and parks it.
    s = _unique(settings, "crash")
    env = service_env | {"PITWALL_EXCHANGE": s.exchange}
    script = Path(__file__).parent / "helpers" / "crashing_consumer.py"
    conn = await connect(s)
    try:
        await declare_service(await conn.channel(), s, "crashtest", ("backup.due",))
        pub = await Publisher.open(conn, s)
        event = BackupDue()
        await pub.publish(event)
        said = ""
        for _ in range(10):
            proc = await asyncio.to_thread(
                subprocess.run, [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60,
            )
            said = proc.stdout
            if "gave up" in said:
                break
            assert proc.returncode == 137, proc.stderr[-2000:]
        assert f"gave up {event.event_id}" in said and "died" in said, said
        ch = await conn.channel()
        dead = await ch.declare_queue(dead_letter_queue_name(s, "crashtest"), durable=True, passive=True)
        [msg] = await _drain(dead)
        reason = msg.headers[REASON_HEADER]
        reason = reason.decode() if isinstance(reason, bytes) else reason
        assert "died" in reason and BackupDue.model_validate_json(msg.body).event_id == event.event_id
    finally:
        await conn.close()


async def _gt(collection: Any, n: int) -> bool:
    return bool(await collection.count_documents({}) > n)
