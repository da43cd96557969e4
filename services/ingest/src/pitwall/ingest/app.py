"""Ingest service: the only writer of MongoDB."""

from __future__ import annotations

import asyncio

from aio_pika.abc import AbstractIncomingMessage
from pitwall.common import db
from pitwall.common.events import Event
from pitwall.common.idempotency import MongoIdempotencyStore
from pitwall.common.logging import get_logger
from pitwall.common.runtime import retry_forever, run_service
from pitwall.common.settings import Settings
from pitwall.common.shell import consume_until_stopped, wiring

log = get_logger(__name__)


async def main(settings: Settings, stop: asyncio.Event) -> None:
    client = db.make_client(settings)
    await retry_forever("mongodb", lambda: db.ping(client), stop)
    database = db.database(client, settings)
    store = MongoIdempotencyStore(database["processed"])

    async def handle(event: Event, message: AbstractIncomingMessage) -> None:
        log.info("received", event_name=event.name, event_id=event.event_id)

    async with wiring(settings, stop, "ingest") as w:
        await consume_until_stopped(
            w, "ingest", handle, stop, idempotency_key=lambda e: e.event_id, store=store
        )
    await client.close()


def run(settings: Settings) -> None:
    run_service(main, settings)
