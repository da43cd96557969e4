"""A consumer process for the kill test: handles `backup.due` slowly and records ids."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from pitwall.common import db
from pitwall.common.broker import Consumer, connect
from pitwall.common.events import Event
from pitwall.common.idempotency import MongoIdempotencyStore
from pitwall.common.logging import configure_logging
from pitwall.common.settings import Settings

SERVICE = "killtest"


async def main(delay: float) -> None:
    settings = Settings()
    configure_logging(SERVICE, "json")  # logs go to stderr; stdout is the test's channel
    client: Any = db.make_client(settings)
    database = db.database(client, settings)
    seen = database["killtest_processed"]

    async def handle(event: Event, message: AbstractIncomingMessage) -> None:
        await asyncio.sleep(delay)
        await seen.insert_one({"event_id": event.event_id})

    connection = await connect(settings)
    channel = await connection.channel()
    consumer = Consumer(
        channel, settings, SERVICE, handle,
        bindings=("backup.due",), prefetch=4,
        idempotency_key=lambda e: e.event_id, store=MongoIdempotencyStore(database["killtest_keys"]),
    )
    await consumer.start()
    print("consuming", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1])))
