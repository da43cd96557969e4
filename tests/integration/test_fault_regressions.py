"""Bugs the fault campaign (`make faults`) found, each reproduced on the real servers."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers.proxy import CuttableProxy

from pitwall.common import db
from pitwall.common.broker import Consumer, Publisher, connect
from pitwall.common.events import BackupDue, Event
from pitwall.common.idempotency import MongoIdempotencyStore
from pitwall.common.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_mongodb_away_during_the_duplicate_check_does_not_stall_the_consumer(settings: Settings) -> None:
    # Campaign row "MongoDB stopped": ingest's duplicate check (MongoDB) raised outside
    # the handler's error handling, the delivery stayed unacked, and once `prefetch`
    # deliveries were stuck ingest consumed nothing more, even with MongoDB back.
    s = settings.model_copy(update={
        "exchange": f"{settings.exchange}.idemdown.{os.getpid()}", "retry_backoff_s": [0.3, 0.6, 1.0, 2.0],
    })
    target = urlsplit(s.mongo_url)
    proxy = CuttableProxy(target.port or 27017, target.hostname or "127.0.0.1")
    client: Any = db.make_client(s.model_copy(update={"mongo_url": f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"}))
    store = MongoIdempotencyStore(db.database(client, s)["idem_keys"])
    processed: list[str] = []

    async def handler(event: Event, message: Any) -> None:
        processed.append(event.event_id)

    conn = await connect(s)
    try:
        consumer = Consumer(
            await conn.channel(), s, "idemdown", handler, bindings=("backup.due",),
            idempotency_key=lambda e: e.event_id, store=store, prefetch=1,
        )
        await consumer.start()
        pub = await Publisher.open(conn, s)
        proxy.cut()
        first = BackupDue()
        await pub.publish(first)
        deadline = time.monotonic() + 15
        while not consumer.outcomes and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert [o.status for o in consumer.outcomes] == ["retry"]  # not left unacked
        proxy.restore()
        second = BackupDue()
        await pub.publish(second)
        deadline = time.monotonic() + 20
        while len(processed) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert sorted(processed) == sorted([first.event_id, second.event_id])
        await consumer.stop()
    finally:
        proxy.close()
        await conn.close()
        await client.close()
