"""Dead-letter queues for operators, on the real RabbitMQ: looking takes nothing, sending
one back moves exactly that one (and its service then handles it), a failed send-back
loses nothing."""

from __future__ import annotations

import os
from typing import Any

import aio_pika
import pytest
from testsupport.waiting import wait_for_async

from pitwall.common.broker import (
    Consumer,
    PermanentError,
    Publisher,
    connect,
    declare_service,
    queue_name,
)
from pitwall.common.broker import ops as broker_ops
from pitwall.common.events import BackupDue, Event
from pitwall.common.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")
SERVICE = "backup"  # one of the topology's consumers; nothing else runs on this exchange


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def test_peek_retry_and_a_failed_retry(settings: Settings) -> None:
    s = settings.model_copy(update={"exchange": f"{settings.exchange}.ops.{os.getpid()}"})
    conn = await connect(s)
    try:
        ch = await conn.channel()
        await declare_service(ch, s, SERVICE)
        pub = await Publisher.open(conn, s)
        work = await ch.declare_queue(queue_name(s, SERVICE), passive=True)

        # A: rejected by hand, so the broker itself dead-letters it (x-death, no reason header).
        first = BackupDue(kind="full")
        await pub.publish(first)
        got = None
        while got is None:
            got = await work.get(fail=False)
        await got.reject(requeue=False)

        # B, C: a consumer gives up on them with a reason.
        async def refuse(event: Event, message: Any) -> None:
            raise PermanentError("the target disk is full")

        refuser = Consumer(await conn.channel(), s, SERVICE, refuse)
        await refuser.start()
        second, third = BackupDue(kind="full"), BackupDue(kind="full")
        await pub.publish(second)
        await pub.publish(third)

        async def parked() -> bool:
            return (await broker_ops.peek(conn, s, SERVICE))[1] == 3

        await wait_for_async(parked, "three dead letters parked", 10, every=0.05)
        await refuser.stop()

        letters, total = await broker_ops.peek(conn, s, SERVICE)
        assert total == 3 and [d.id for d in letters] == [first.event_id, second.event_id, third.event_id]
        by_id = {d.id: d for d in letters}
        assert by_id[first.event_id].reason == "dead-lettered by the broker (rejected)"
        assert by_id[first.event_id].routing_key == "backup.due"
        assert by_id[second.event_id].reason == "PermanentError: the target disk is full"
        assert by_id[second.event_id].dead_at is not None
        again, _ = await broker_ops.peek(conn, s, SERVICE)
        assert [d.id for d in again] == [d.id for d in letters]  # looking took nothing

        # B goes back, alone, to the service's own queue, with its delivery history cleared.
        sent = await broker_ops.retry(conn, s, SERVICE, second.event_id)
        assert sent.id == second.event_id
        left, total = await broker_ops.peek(conn, s, SERVICE)
        assert total == 2 and [d.id for d in left] == [first.event_id, third.event_id]
        copy = await work.get(timeout=5)
        assert copy.message_id == second.event_id and BackupDue.model_validate_json(copy.body) == second
        headers = dict(copy.headers or {})
        assert _text(headers["x-original-routing-key"]) == "backup.due"
        assert headers[broker_ops.OPS_RETRIES_HEADER] == 1
        assert "disk is full" in _text(headers[broker_ops.PREVIOUS_REASON_HEADER])
        assert not {"x-death", "x-dead-letter-reason", "x-retries"} & set(headers)
        assert headers.get("x-delivery-count", 0) == 0  # the broker's count of this delivery, fresh
        await copy.reject(requeue=True)
        with pytest.raises(broker_ops.DeadLetterNotFound):
            await broker_ops.retry(conn, s, SERVICE, second.event_id)

        # The broker-parked one goes back too, and the service handles both as events.
        await broker_ops.retry(conn, s, SERVICE, first.event_id)
        handled: list[str] = []

        async def accept(event: Event, message: Any) -> None:
            handled.append(event.event_id)

        acceptor = Consumer(await conn.channel(), s, SERVICE, accept)
        await acceptor.start()

        async def both() -> bool:
            return sorted(handled) == sorted([first.event_id, second.event_id])

        await wait_for_async(both, "both retried events handled", 10, every=0.05)
        await acceptor.stop()

        # With the service's queue gone the copy comes back unroutable: C stays parked.
        await ch.queue_delete(queue_name(s, SERVICE))
        with pytest.raises(aio_pika.exceptions.DeliveryError):
            await broker_ops.retry(conn, s, SERVICE, third.event_id)
        left, total = await broker_ops.peek(conn, s, SERVICE)
        assert total == 1 and left[0].id == third.event_id
    finally:
        await conn.close()
