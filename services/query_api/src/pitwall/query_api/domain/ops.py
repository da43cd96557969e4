"""The operators' view: queues, which services are alive, the last failures, sending a
dead-lettered message back, and the queue gauges query_api keeps for Prometheus.

What it knows, and from where (the page says the same): a consuming service is alive
when RabbitMQ counts a consumer on its queue (one per process); query_api is alive
because it answers; base stations by their heartbeats; ingest's outbox relay by the
age of the oldest event it has not published. A process that is connected but stuck
still counts as a consumer: the queue depth beside it is what shows that.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from aio_pika.exceptions import AMQPError
from pydantic import BaseModel

from pitwall.common import metrics
from pitwall.common.broker import ops as broker_ops
from pitwall.common.broker.topology import CONSUMERS
from pitwall.common.contracts.documents import JobDoc, OutboxDoc
from pitwall.common.logging import get_logger
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Principal
from pitwall.query_api.domain import stations
from pitwall.query_api.errors import not_found, unavailable
from pitwall.query_api.resources import Resources

log = get_logger(__name__)

FAILED_JOBS_DAYS = 7
# An outbox event older than this is not being published: the relay (ingest) is down or stuck.
OUTBOX_STUCK_S = 60.0
_broker_lock = asyncio.Lock()  # one look into the dead-letter queues at a time (see peek)


class QueueView(BaseModel):
    service: str
    queue: str
    kind: Literal["work", "retry", "dead"]
    messages: int | None
    consumers: int | None


class ServiceHealth(BaseModel):
    name: str
    status: Literal["up", "down", "unknown"]
    detail: str
    source: str  # how this was learnt


class DeadLetterView(BaseModel):
    id: str
    service: str
    routing_key: str
    reason: str
    dead_at: datetime | None
    published_at: datetime | None
    retries: int
    ops_retries: int
    correlation_id: str | None
    size: int
    preview: str


class FailedJob(BaseModel):
    id: str
    reason: str | None
    requested_by: str | None
    runs: int
    format: str | None
    created_at: datetime | None
    finished_at: datetime | None


class OutboxView(BaseModel):
    backlog: int
    oldest_s: float | None


class OpsOverview(BaseModel):
    checked_at: datetime
    broker: Literal["connected", "unreachable"]
    services: list[ServiceHealth]
    queues: list[QueueView]
    dead_letter_counts: dict[str, int | None]
    dead_letters: list[DeadLetterView]
    failed_jobs: list[FailedJob]
    outbox: OutboxView | None


def _aware(t: Any) -> datetime | None:
    if not isinstance(t, datetime):
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _connection(res: Resources) -> Any:
    if res.amqp is None or res.amqp.is_closed:
        return None
    return res.amqp


def _letter(d: broker_ops.DeadLetter) -> DeadLetterView:
    # The view is the broker's record as the API shows it (same fields, validated).
    return DeadLetterView.model_validate(d, from_attributes=True)


async def _outbox(res: Resources) -> OutboxView:
    coll = readmodel.outbox(res)
    pending = {"published_at": None}
    backlog = await coll.count_documents(pending)
    oldest = cast("OutboxDoc | None", await coll.find_one(
        pending, {"created_at": 1}, sort=[("created_at", 1)]) if backlog else None)
    created = _aware(oldest.get("created_at")) if oldest else None
    age = (datetime.now(UTC) - created).total_seconds() if created else None
    return OutboxView(backlog=backlog, oldest_s=round(age, 1) if age is not None else None)


async def _failed_jobs(res: Resources, limit: int) -> list[FailedJob]:
    since = datetime.now(UTC) - timedelta(days=FAILED_JOBS_DAYS)
    # The `created` index bounds the walk to the last week's jobs.
    cursor = readmodel.jobs(res).find(
        {"created_at": {"$gte": since}, "status": "failed"},
        {"error": 1, "request.requested_by": 1, "request.runs": 1, "request.format": 1,
         "created_at": 1, "finished_at": 1},
    ).sort("created_at", -1).limit(limit)
    jobs = []
    async for found in cursor:
        doc = cast("JobDoc", found)
        request = doc.get("request") or {}
        jobs.append(FailedJob(
            id=str(doc["_id"]), reason=doc.get("error"), requested_by=request.get("requested_by"),
            runs=len(request.get("runs") or []), format=request.get("format"),
            created_at=_aware(doc.get("created_at")), finished_at=_aware(doc.get("finished_at")),
        ))
    return jobs


def _consumer_health(service: str, queues: list[QueueView]) -> ServiceHealth:
    work = next((q for q in queues if q.service == service and q.kind == "work"), None)
    source = "consumers RabbitMQ counts on its queue"
    if work is None or work.consumers is None:
        return ServiceHealth(name=service, status="unknown", detail="the broker did not say", source=source)
    if work.consumers == 0:
        waiting = f"; {work.messages} message(s) waiting" if work.messages else ""
        return ServiceHealth(name=service, status="down", detail=f"nobody consumes {work.queue}{waiting}",
                             source=source)
    plural = "es" if work.consumers > 1 else ""
    return ServiceHealth(
        name=service, status="up", source=source,
        detail=f"{work.consumers} process{plural} consuming {work.queue}, {work.messages} waiting",
    )


async def _stations_health(res: Resources) -> ServiceHealth:
    source = "base-station heartbeats (station.status)"
    views = await stations.views(res)
    if not views:
        return ServiceHealth(name="basestation", status="unknown", detail="no station has reported yet",
                             source=source)
    online = [v.station_id for v in views if v.online]
    status: Literal["up", "down"] = "up" if online else "down"
    listed = f": {', '.join(online[:5])}" if online else ""
    return ServiceHealth(name="basestation", status=status, source=source,
                         detail=f"{len(online)} of {len(views)} station(s) online{listed}")


def _ingest_health(consumer: ServiceHealth, outbox: OutboxView | None) -> ServiceHealth:
    if outbox is None or consumer.status == "unknown":
        return consumer
    source = consumer.source + " and its outbox"
    if outbox.oldest_s is not None and outbox.oldest_s > OUTBOX_STUCK_S:
        return ServiceHealth(
            name="ingest", status="down", source=source,
            detail=f"{consumer.detail}; but {outbox.backlog} outbox event(s) unpublished "
                   f"for {outbox.oldest_s:.0f} s",
        )
    return ServiceHealth(name="ingest", status=consumer.status, source=source,
                         detail=f"{consumer.detail}; outbox backlog {outbox.backlog}")


async def overview(res: Resources, limit: int) -> OpsOverview:
    """Every queue and its dead letters (the oldest `limit` per service), each service's
    health, the last week's failed export jobs and ingest's outbox."""
    conn = _connection(res)
    queues: list[QueueView] = []
    letters: list[DeadLetterView] = []
    counts: dict[str, int | None] = dict.fromkeys(CONSUMERS)
    if conn is not None:
        async with _broker_lock:
            stats = await broker_ops.queue_stats(conn, res.settings)
            queues = [QueueView(service=q.service, queue=q.queue, kind=q.kind, messages=q.messages,
                                consumers=q.consumers) for q in stats]
            for service in CONSUMERS:
                try:
                    found, total = await broker_ops.peek(conn, res.settings, service, limit)
                except Exception as exc:
                    log.warning("dead letters not read", service=service, error=str(exc)[:200])
                    continue
                counts[service] = total
                letters += [_letter(d) for d in found]
    letters.sort(key=lambda d: d.dead_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    try:
        outbox: OutboxView | None = await _outbox(res)
    except Exception as exc:
        log.warning("outbox not read", error=str(exc)[:200])
        outbox = None
    services = [ServiceHealth(name="query_api", status="up", detail="answering this request", source="itself")]
    for name in CONSUMERS:
        health = _consumer_health(name, queues)
        services.append(_ingest_health(health, outbox) if name == "ingest" else health)
    services.append(await _stations_health(res))
    return OpsOverview(
        checked_at=datetime.now(UTC), broker="connected" if conn is not None else "unreachable",
        services=services, queues=queues, dead_letter_counts=counts, dead_letters=letters,
        failed_jobs=await _failed_jobs(res, limit), outbox=outbox,
    )


async def retry_dead_letter(res: Resources, service: str, letter_id: str, who: Principal) -> DeadLetterView:
    """Send one dead letter back to its service's queue (confirmed, then removed); 404 when
    it is not parked there, 503 when the broker is away or does not confirm."""
    conn = _connection(res)
    if conn is None:
        raise unavailable("the message broker is not reachable; try again in a few seconds")
    async with _broker_lock:
        try:
            letter = await broker_ops.retry(conn, res.settings, service, letter_id)
        except broker_ops.DeadLetterNotFound as exc:
            raise not_found(str(exc)) from None
        except (AMQPError, TimeoutError) as exc:  # not confirmed, or returned: it stays parked
            raise unavailable(
                f"not sent back ({type(exc).__name__}: {exc}); it is still in the dead-letter queue"
            ) from None
    log.info("dead letter retried", by=who.name, service=service, letter_id=letter_id)
    return _letter(letter)


async def refresh_queue_metrics(res: Resources) -> None:
    """Keep pitwall_queue_* current (query_api's task): a cheap passive declare per queue."""
    while True:
        conn = _connection(res)
        if conn is not None:
            try:
                for q in await broker_ops.queue_stats(conn, res.settings):
                    labels = {"service": "query_api", "consumer": q.service, "queue": q.queue, "kind": q.kind}
                    if q.messages is not None and q.consumers is not None:
                        metrics.QUEUE_MESSAGES.labels(**labels).set(q.messages)
                        metrics.QUEUE_CONSUMERS.labels(**labels).set(q.consumers)
            except Exception as exc:  # the broker went away: the next round tries again
                log.debug("queue metrics not refreshed", error=str(exc)[:200])
        await asyncio.sleep(res.settings.metrics_refresh_s)
