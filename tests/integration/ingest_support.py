"""Helpers for tests that drive ingest through the real broker, MongoDB and S3."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aio_pika
from testsupport.waiting import wait_for_async

from pitwall.common import db
from pitwall.common.broker import Publisher, connect
from pitwall.common.events import FileUploaded
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore


class Harness:
    """Uploads files, announces them, and records every run.* event the stack publishes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = ObjectStore(settings)
        self.store.ensure_buckets()
        self.mongo: Any = db.make_client(settings)
        self.db = db.database(self.mongo, settings)
        self.events: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def __aenter__(self) -> Harness:
        self.conn = await connect(self.settings, name="test-harness")
        self.publisher = await Publisher.open(self.conn, self.settings)
        channel = await self.conn.channel()
        queue = await channel.declare_queue(exclusive=True)
        for key in ("run.#", "conversion.#"):
            await queue.bind(self.publisher.exchange, key)
        await queue.consume(self._on_event, no_ack=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()
        await self.mongo.close()

    async def _on_event(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.events.append(message)

    def events_named(self, name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
        return [m for m in self.events if m.routing_key == name]

    async def upload(self, path: Path, filename: str | None = None, **overrides: Any) -> FileUploaded:
        stored = await asyncio.to_thread(self.store.put_mcap_file, path)
        event = FileUploaded(
            sha256=stored.sha256, object_key=stored.key, size=stored.size,
            filename=filename or path.name, source="cli", uploader="test",
        )
        if overrides:
            event = event.model_copy(update=overrides)
        await self.publisher.publish(event)
        return event

    async def wait_run(
        self, run_id: str, timeout: float = 60.0, statuses: tuple[str, ...] = ("ready", "recovered", "rejected")
    ) -> dict[str, Any]:
        doc = await wait_for_async(
            lambda: self.db["runs"].find_one({"_id": run_id, "status": {"$in": list(statuses)}}),
            f"run {run_id[:12]} in {statuses}", timeout,
        )
        assert isinstance(doc, dict)
        return doc

    async def all_seen(self, timeout: float = 30.0) -> None:
        """Every event the broker routed to this harness before the call is in `self.events`.

        A marker sent through the same exchange into the same queue arrives after everything
        routed there before it (a queue delivers in order). So once the services that could
        publish have stopped, seeing the marker proves nothing else is on its way: a "no second
        publication" check without a sleep.
        """
        marker = f"run.test-marker.{uuid.uuid4().hex}"
        await self.publisher.exchange.publish(aio_pika.Message(b"{}"), routing_key=marker)
        await wait_for_async(lambda: any(m.routing_key == marker for m in self.events), "the marker", timeout)

    async def work_left(self, service: str) -> int | None:
        """Messages waiting in `service`'s work queue (after it stopped: what it did not ack)."""
        from pitwall.common.broker.ops import queue_stats

        stats = await queue_stats(self.conn, self.settings)
        return next(q.messages for q in stats if q.service == service and q.kind == "work")


