"""Ingest service: the only writer of MongoDB."""

from __future__ import annotations

import asyncio

from pitwall.common import db
from pitwall.common.events import Event, StationStatus
from pitwall.common.idempotency import MongoIdempotencyStore
from pitwall.common.logging import get_logger
from pitwall.common.runtime import retry_forever, run_service
from pitwall.common.settings import Settings
from pitwall.common.shell import consume_until_stopped, wiring
from pitwall.common.storage import ObjectStore
from pitwall.ingest import repository
from pitwall.ingest.ingestor import Ingestor
from pitwall.ingest.outbox import Outbox

log = get_logger(__name__)


def idempotency_key(event: Event) -> str | None:
    """The event id, except for heartbeats: they come every few seconds from every
    station, and a repeated or late one is harmless (`stations.record` keeps the newest
    by time), so they are not remembered for 30 days in `processed`."""
    return None if isinstance(event, StationStatus) else event.event_id


async def main(settings: Settings, stop: asyncio.Event) -> None:
    client = db.make_client(settings)
    await retry_forever("mongodb", lambda: db.ping(client), stop)
    database = db.database(client, settings)
    await repository.ensure_indexes(database)
    store = ObjectStore(settings)
    await retry_forever("s3", lambda: asyncio.to_thread(store.ensure_buckets), stop)
    outbox = Outbox(database[repository.OUTBOX])
    ingestor = Ingestor(database, store, outbox)
    async with wiring(settings, stop, "ingest") as w:
        relay = asyncio.create_task(outbox.relay(w.publisher, stop))
        await consume_until_stopped(
            w, "ingest", ingestor.handle, stop,
            idempotency_key=idempotency_key,
            store=MongoIdempotencyStore(database[repository.PROCESSED]),
            prefetch=2,
        )
        await relay
    await client.close()


def run(settings: Settings) -> None:
    run_service(main, settings)
