"""Transactional outbox without multi-document transactions.

Events caused by a database change are written to `outbox` with a deterministic
`_id` (the event id) after the change; the triggering message is acked only after both
writes, so a crash in between redelivers it and the handler writes the missing event
(the insert is idempotent). A relay publishes pending events with confirms and marks
them; a crash between publish and mark republishes the same event id, which consumers
that check ids ignore.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from pitwall.common.broker import Publisher
from pitwall.common.events import Event, parse_event
from pitwall.common.logging import correlation, current_correlation_id, get_logger

log = get_logger(__name__)


class Outbox:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection
        self.wakeup = asyncio.Event()

    async def add(self, event: Event) -> None:
        try:
            await self.collection.insert_one(
                {
                    "_id": event.event_id,
                    "routing_key": event.name,
                    "body": event.model_dump_json(),
                    "correlation_id": current_correlation_id(),
                    "created_at": datetime.now(UTC),
                    "published_at": None,
                }
            )
        except DuplicateKeyError:
            pass
        self.wakeup.set()

    async def publish_pending(self, publisher: Publisher, limit: int = 100) -> int:
        sent = 0
        cursor = self.collection.find({"published_at": None}).sort("created_at", 1).limit(limit)
        async for doc in cursor:
            event = parse_event(doc["routing_key"], doc["body"].encode())
            with correlation(doc.get("correlation_id")):
                await publisher.publish(event)
                log.info("event published", event_name=event.name, event_id=event.event_id)
            await self.collection.update_one({"_id": doc["_id"]}, {"$set": {"published_at": datetime.now(UTC)}})
            sent += 1
        return sent

    async def relay(self, publisher: Publisher, stop: asyncio.Event, idle_s: float = 1.0) -> None:
        while not stop.is_set():
            try:
                sent = await self.publish_pending(publisher)
            except Exception as exc:  # broker away: keep events, try again later
                log.warning("outbox relay failed", error=str(exc)[:200])
                sent = 0
            if sent:
                continue
            self.wakeup.clear()
            waiters = [asyncio.create_task(self.wakeup.wait()), asyncio.create_task(stop.wait())]
            await asyncio.wait(waiters, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
