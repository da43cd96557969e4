"""What an operator asks the broker: how full each queue is, what sits in the dead-letter
queues and why, and "send this one back".

Everything here goes over AMQP (passive declares, basic.get): the management plugin is
not needed, so it works on any RabbitMQ the services work on. Looking at a dead-letter
queue takes its messages without acking them and closes the channel, which puts them
back where they were; sending one back publishes a copy with a broker confirm before
acking the original, so a crash in between leaves a duplicate (idempotent handlers
absorb it), never a loss.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

from pitwall.common.logging import get_logger
from pitwall.common.settings import Settings

from .consumer import DEAD_AT_HEADER, REASON_HEADER, RETRY_HEADER
from .topology import CONSUMERS, dead_letter_queue_name, queue_name, retry_queue_name

log = get_logger(__name__)

QueueKind = Literal["work", "retry", "dead"]
OPS_RETRIES_HEADER = "x-ops-retries"
PREVIOUS_REASON_HEADER = "x-previous-dead-letter-reason"
# Headers that describe the message's past deliveries: a message sent back starts afresh
# (an old x-delivery-count would have the consumer give up on it at once).
_DELIVERY_HISTORY = {
    "x-death", "x-delivery-count", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
    "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", RETRY_HEADER, REASON_HEADER,
    DEAD_AT_HEADER,
}
PREVIEW_CHARS = 400


@dataclass(frozen=True, slots=True)
class QueueStats:
    service: str
    queue: str
    kind: QueueKind
    messages: int | None  # None: the broker did not answer for this queue
    consumers: int | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    service: str
    routing_key: str
    reason: str
    dead_at: datetime | None
    published_at: datetime | None
    retries: int  # trips down the retry ladder before it was parked
    ops_retries: int  # times an operator already sent it back
    correlation_id: str | None
    size: int
    preview: str


class DeadLetterNotFound(LookupError):
    pass


def service_queues(settings: Settings) -> list[tuple[str, str, QueueKind]]:
    """(service, queue, kind) of every queue the topology declares."""
    out: list[tuple[str, str, QueueKind]] = []
    for service in CONSUMERS:
        out.append((service, queue_name(settings, service), "work"))
        out += [(service, retry_queue_name(settings, service, d), "retry") for d in settings.retry_backoff_s]
        out.append((service, dead_letter_queue_name(settings, service), "dead"))
    return out


async def queue_stats(connection: AbstractConnection, settings: Settings) -> list[QueueStats]:
    """Ready messages and consumers of every service queue (a passive declare each)."""
    stats: list[QueueStats] = []
    channel: AbstractChannel | None = None
    try:
        for service, name, kind in service_queues(settings):
            if channel is None or channel.is_closed:
                channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True, timeout=5)
            except Exception as exc:  # not declared yet (404 closes the channel), or no answer
                log.debug("queue not inspected", queue=name, error=str(exc)[:200])
                stats.append(QueueStats(service, name, kind, None, None))
                continue
            result = queue.declaration_result
            stats.append(QueueStats(service, name, kind, int(result.message_count or 0),
                                    int(result.consumer_count or 0)))
    finally:
        if channel is not None and not channel.is_closed:
            await channel.close()
    return stats


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = _text(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _first_death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {}


def letter_id(message: AbstractIncomingMessage) -> str:
    """The event id the message carries; a hash of its body for one published without."""
    given = _text(message.message_id)
    if given:
        return given
    return "sha256-" + hashlib.sha256(message.body).hexdigest()[:24]


def original_routing_key(message: AbstractIncomingMessage) -> str:
    headers = dict(message.headers or {})
    given = _text(headers.get("x-original-routing-key"))
    if given:
        return given
    keys = _first_death(headers).get("routing-keys")  # dead-lettered by the broker itself
    if isinstance(keys, list) and keys:
        return _text(keys[0]) or ""
    return message.routing_key or ""


def describe(message: AbstractIncomingMessage, service: str) -> DeadLetter:
    headers = dict(message.headers or {})
    death = _first_death(headers)
    reason = _text(headers.get(REASON_HEADER))
    if not reason:
        # The broker parked it (delivery limit, TTL): its x-death says which.
        why = _text(death.get("reason")) or "unknown"
        reason = f"dead-lettered by the broker ({why})"
    return DeadLetter(
        id=letter_id(message),
        service=service,
        routing_key=original_routing_key(message),
        reason=reason,
        dead_at=_when(headers.get(DEAD_AT_HEADER)) or _when(death.get("time")),
        published_at=_when(message.timestamp),
        retries=_int(headers.get(RETRY_HEADER)),
        ops_retries=_int(headers.get(OPS_RETRIES_HEADER)),
        correlation_id=_text(message.correlation_id),
        size=len(message.body),
        preview=message.body[:PREVIEW_CHARS].decode(errors="replace"),
    )


def _check_service(service: str) -> None:
    if service not in CONSUMERS:
        raise DeadLetterNotFound(f"no service {service!r} consumes from the broker")


async def peek(
    connection: AbstractConnection, settings: Settings, service: str, limit: int = 50
) -> tuple[list[DeadLetter], int]:
    """The oldest `limit` messages of a service's dead-letter queue, and how many it holds."""
    _check_service(service)
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(dead_letter_queue_name(settings, service), passive=True, timeout=5)
        total = int(queue.declaration_result.message_count or 0)
        letters = []
        for _ in range(min(limit, total)):
            message = await queue.get(no_ack=False, fail=False, timeout=5)
            if message is None:
                break
            letters.append(describe(message, service))
        return letters, total
    finally:
        # Unacked, so closing the channel returns every message we looked at.
        await channel.close()


def _sent_back(message: AbstractIncomingMessage, key: str) -> aio_pika.Message:
    headers = {k: v for k, v in dict(message.headers or {}).items() if k not in _DELIVERY_HISTORY}
    headers["x-original-routing-key"] = key
    headers[OPS_RETRIES_HEADER] = _int(headers.get(OPS_RETRIES_HEADER)) + 1
    reason = _text(dict(message.headers or {}).get(REASON_HEADER))
    if reason:
        headers[PREVIOUS_REASON_HEADER] = reason[:1000]
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        timestamp=message.timestamp,
    )


async def retry(
    connection: AbstractConnection, settings: Settings, service: str, wanted: str, scan_limit: int = 10_000
) -> DeadLetter:
    """Send dead letter `wanted` back to its service's queue, under its original routing key.

    Straight to the service's own queue (default exchange), not through the topic
    exchange: the other services bound to that key handled it already. Raises
    DeadLetterNotFound when it is not (or no longer) there.
    """
    _check_service(service)
    # on_return_raises: an unroutable copy is an error, not a silently confirmed publish
    # (the broker confirms a returned message too) after which the original would be acked.
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    try:
        queue = await channel.declare_queue(dead_letter_queue_name(settings, service), passive=True, timeout=5)
        total = int(queue.declaration_result.message_count or 0)
        for _ in range(min(total, scan_limit)):
            message = await queue.get(no_ack=False, fail=False, timeout=5)
            if message is None:
                break
            if letter_id(message) != wanted:
                continue
            letter = describe(message, service)
            # mandatory: a service queue that vanished returns the copy (an error here)
            # instead of dropping it; the original is then still in the dead queue.
            await channel.default_exchange.publish(
                _sent_back(message, letter.routing_key), routing_key=queue_name(settings, service),
                mandatory=True, timeout=30,
            )
            await message.ack()
            log.info("dead letter sent back", service=service, letter_id=wanted, routing_key=letter.routing_key,
                     reason=letter.reason)
            return letter
        raise DeadLetterNotFound(f"no dead letter {wanted!r} in {service}'s dead-letter queue (sent back already?)")
    finally:
        await channel.close()  # every other message looked at goes back in its place
