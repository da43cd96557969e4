"""The thin shell shared by the consuming services: connect, declare, consume, stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aio_pika.abc import AbstractRobustConnection

from pitwall.common.broker import Consumer, Publisher, connect
from pitwall.common.broker.consumer import DeadHook, Handler, IdempotencyStore, KeyFn
from pitwall.common.logging import get_logger
from pitwall.common.runtime import retry_forever
from pitwall.common.settings import Settings

log = get_logger(__name__)


@dataclass(slots=True)
class Wiring:
    settings: Settings
    connection: AbstractRobustConnection
    publisher: Publisher


@asynccontextmanager
async def wiring(settings: Settings, stop: asyncio.Event, service: str) -> AsyncIterator[Wiring]:
    async def _connect() -> AbstractRobustConnection:
        return await connect(settings, name=service)

    connection = await retry_forever("rabbitmq", _connect, stop)
    assert isinstance(connection, AbstractRobustConnection)
    try:
        publisher = await Publisher.open(connection, settings)
        yield Wiring(settings, connection, publisher)
    finally:
        await connection.close()


async def consume_until_stopped(
    w: Wiring,
    service: str,
    handler: Handler,
    stop: asyncio.Event,
    *,
    idempotency_key: KeyFn | None = None,
    store: IdempotencyStore | None = None,
    prefetch: int | None = None,
    on_dead: DeadHook | None = None,
) -> None:
    channel = await w.connection.channel(publisher_confirms=True)
    consumer = Consumer(
        channel, w.settings, service, handler,
        idempotency_key=idempotency_key, store=store, prefetch=prefetch, on_dead=on_dead,
    )
    await consumer.start()
    log.info("ready", service=service)
    await stop.wait()
    log.info("stopping", service=service)
    await consumer.stop()
    await channel.close()
