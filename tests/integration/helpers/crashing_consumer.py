"""A consumer process that dies on every message, as an out-of-memory kill would,
unless the consumer gives up first: then its dead-letter hook writes to stdout."""

from __future__ import annotations

import asyncio
import os

from aio_pika.abc import AbstractIncomingMessage

from pitwall.common.broker import Consumer, connect
from pitwall.common.events import Event
from pitwall.common.logging import configure_logging
from pitwall.common.settings import Settings

SERVICE = "crashtest"


async def main() -> None:
    settings = Settings()
    configure_logging(SERVICE, "json")  # logs go to stderr; stdout is the test's channel

    async def handle(event: Event, message: AbstractIncomingMessage) -> None:
        os._exit(137)  # no ack, no clean-up: the broker redelivers

    async def gave_up(event: Event, reason: str) -> None:
        print(f"gave up {event.event_id}: {reason}", flush=True)

    connection = await connect(settings)
    channel = await connection.channel()
    consumer = Consumer(channel, settings, SERVICE, handle, bindings=("backup.due",), on_dead=gave_up)
    await consumer.start()
    # Until the consumer has parked the message (the hook runs just before).
    while not any(o.status == "dead" for o in consumer.outcomes):  # noqa: ASYNC110 (no event to wait on)
        await asyncio.sleep(0.05)
    await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
