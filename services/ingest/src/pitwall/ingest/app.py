"""Ingest service: the only writer of MongoDB."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from pitwall.common import db, metrics
from pitwall.common.contracts import mongo
from pitwall.common.events import Event, StationStatus
from pitwall.common.idempotency import MongoIdempotencyStore
from pitwall.common.logging import get_logger
from pitwall.common.runtime import retry_forever, run_service
from pitwall.common.settings import Settings
from pitwall.common.shell import consume_until_stopped, wiring
from pitwall.common.storage import ObjectStore
from pitwall.ingest import repository, summaries
from pitwall.ingest.eventrules import RuleError, RuleSet, load_rules
from pitwall.ingest.handlers import HANDLERS
from pitwall.ingest.ingestor import Ingestor
from pitwall.ingest.outbox import Outbox

log = get_logger(__name__)


def idempotency_key(event: Event) -> str | None:
    """The event id, except for heartbeats: they come every few seconds from every
    station, and a repeated or late one is harmless (`stations.record` keeps the newest
    by time), so they are not remembered for 30 days in `processed`."""
    return None if isinstance(event, StationStatus) else event.event_id


async def watch_outbox(outbox: AsyncCollection[dict[str, Any]], every_s: float, stop: asyncio.Event) -> None:
    """pitwall_outbox_backlog/_oldest_seconds: events the relay has not published yet."""
    pending = {"published_at": None}
    while not stop.is_set():
        try:
            backlog = await outbox.count_documents(pending)
            oldest = await outbox.find_one(pending, {"created_at": 1}, sort=[("created_at", 1)]) if backlog else None
            created = (oldest or {}).get("created_at")
            if created is not None and created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            age = (datetime.now(UTC) - created).total_seconds() if created else 0.0
            metrics.OUTBOX_BACKLOG.labels(service="ingest").set(backlog)
            metrics.OUTBOX_OLDEST_SECONDS.labels(service="ingest").set(max(0.0, age))
        except Exception as exc:  # MongoDB away: the gauges keep their last value
            log.debug("outbox backlog not read", error=str(exc)[:200])
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass


async def main(settings: Settings, stop: asyncio.Event, rules: RuleSet | None = None) -> None:
    rules = rules if rules is not None else load_rules(settings.event_rules)
    client = db.make_client(settings)
    await retry_forever("mongodb", lambda: db.ping(client), stop)
    database = db.database(client, settings)
    await repository.ensure_indexes(database)
    await summaries.backfill(database)
    store = ObjectStore(settings)
    await retry_forever("s3", lambda: asyncio.to_thread(store.ensure_buckets), stop)
    outbox = Outbox(database[mongo.OUTBOX])
    ingestor = Ingestor(database, store, outbox, rules)
    async with wiring(settings, stop, "ingest") as w:
        relay = asyncio.create_task(outbox.relay(w.publisher, stop))
        backlog = asyncio.create_task(watch_outbox(database[mongo.OUTBOX], settings.metrics_refresh_s, stop))
        await consume_until_stopped(
            w, HANDLERS.service, HANDLERS.bind(ingestor), stop,
            idempotency_key=idempotency_key,
            store=MongoIdempotencyStore(database[mongo.PROCESSED]),
            prefetch=2,
        )
        await relay
        await backlog
    await client.close()


def run(settings: Settings) -> None:
    # A bad rule file stops ingest before it takes any file: runs ingested without the
    # team's rules would lack their events for good.
    try:
        rules = load_rules(settings.event_rules)
    except RuleError as exc:
        log.error("event rules not loaded", error=str(exc))
        raise SystemExit(f"ingest: {exc}") from None
    log.info("event rules loaded", rules=len(rules.rules), file=rules.source)
    metrics.serve(settings, "ingest")
    run_service(lambda s, stop: main(s, stop, rules), settings)
