"""The consumer helper every service uses.

For each message: validate it as the event its routing key names, bind its
correlation id, skip it when its idempotency key was already processed, run the
handler, and only then ack. A transient error sends the message down the retry ladder
(back-off); a permanent one, or one that keeps failing, goes to the service's
dead-letter queue with the reason in its headers, after an optional hook told whoever
waits on the event. A message that keeps killing the process (redelivered without an
ack, the broker counts) is given up on the same way, one delivery before the broker's
own limit, so the requester hears why instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from pydantic import ValidationError

from pitwall.common import metrics
from pitwall.common.events import EVENT_TYPES, Event, UnknownEvent, parse_event
from pitwall.common.logging import correlation, get_logger
from pitwall.common.settings import Settings

from .connection import CORRELATION_HEADER
from .topology import (
    DELIVERY_LIMIT,
    Declared,
    dead_letter_exchange_name,
    declare_service,
    retry_queue_name,
)

log = get_logger(__name__)

RETRY_HEADER = "x-retries"
REASON_HEADER = "x-dead-letter-reason"
# When the consumer parked it (ISO 8601, UTC), for the ops page's "last failures".
DEAD_AT_HEADER = "x-dead-lettered-at"


class PermanentError(Exception):
    """The message can never succeed (bad content, unknown run...): dead-letter it now."""


class IdempotencyStore(Protocol):
    async def seen(self, key: str) -> bool: ...

    async def mark(self, key: str) -> None: ...


Handler = Callable[[Event, AbstractIncomingMessage], Awaitable[None]]
KeyFn = Callable[[Event], str | None]
# Called with an event and the reason just before it is dead-lettered, so a service can
# answer whoever waits on it (a converter publishes conversion.failed).
DeadHook = Callable[[Event, str], Awaitable[None]]


@dataclass(slots=True)
class Outcome:
    """What happened to one delivery, for logs and tests."""

    status: str  # "ok" | "duplicate" | "retry" | "dead"
    reason: str | None = None
    # The handler ran and raised (an invalid message or a crash loop is dead, not failed).
    failed: bool = False


class Consumer:
    def __init__(
        self,
        channel: AbstractChannel,
        settings: Settings,
        service: str,
        handler: Handler,
        *,
        idempotency_key: KeyFn | None = None,
        store: IdempotencyStore | None = None,
        bindings: tuple[str, ...] | None = None,
        prefetch: int | None = None,
        on_dead: DeadHook | None = None,
    ) -> None:
        self.on_dead = on_dead
        self.channel = channel
        self.settings = settings
        self.service = service
        self.handler = handler
        self.idempotency_key = idempotency_key
        self.store = store
        self.bindings = bindings
        self.prefetch = prefetch or settings.prefetch
        self.declared: Declared | None = None
        self._tag: str | None = None
        self.outcomes: list[Outcome] = []
        # aio-pika runs deliveries concurrently: one lock per idempotency key keeps two
        # copies of a message in this process from both passing the `seen` check.
        # Across replicas, handlers rely on their own natural keys (unique indexes).
        self._key_locks: dict[str, asyncio.Lock] = {}

    async def start(self) -> AbstractQueue:
        await self.channel.set_qos(prefetch_count=self.prefetch)
        self.declared = await declare_service(self.channel, self.settings, self.service, self.bindings)
        assert self.declared.queue is not None
        self._tag = await self.declared.queue.consume(self._on_message)
        log.info("consuming", queue=self.declared.queue.name, prefetch=self.prefetch)
        return self.declared.queue

    async def stop(self) -> None:
        if self.declared and self.declared.queue and self._tag:
            await self.declared.queue.cancel(self._tag)
            self._tag = None

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        headers = dict(message.headers or {})
        cid = _header_str(headers.get(CORRELATION_HEADER)) or message.correlation_id
        with correlation(cid):
            started = time.perf_counter()
            outcome = await self._process(message, headers)
            self._count(message, headers, outcome, time.perf_counter() - started)
            self.outcomes.append(outcome)
            del self.outcomes[:-1000]

    def _count(
        self, message: AbstractIncomingMessage, headers: dict[str, Any], outcome: Outcome, seconds: float
    ) -> None:
        queue = self.declared.queue.name if self.declared and self.declared.queue else self.service
        key = _original_routing_key(headers) or message.routing_key or ""
        # Only known event names become label values: anyone who can publish could
        # otherwise mint a new time series per made-up routing key.
        labels = {"service": self.service, "queue": queue, "event": key if key in EVENT_TYPES else "invalid"}
        metrics.MESSAGE_SECONDS.labels(service=self.service, queue=queue).observe(seconds)
        if outcome.status in ("ok", "duplicate"):
            metrics.MESSAGES_CONSUMED.labels(**labels, outcome=outcome.status).inc()
            return
        if outcome.failed:
            metrics.MESSAGES_FAILED.labels(**labels).inc()
        if outcome.status == "dead":
            metrics.MESSAGES_DEAD_LETTERED.labels(**labels).inc()

    async def _process(self, message: AbstractIncomingMessage, headers: dict[str, Any]) -> Outcome:
        key = message.routing_key or ""
        # A message that came back from a retry queue keeps its original routing key in
        # the x-death header; the delivery's own key is then the service queue name.
        original_key = _original_routing_key(headers) or key
        try:
            event = parse_event(original_key, message.body)
        except (ValidationError, UnknownEvent, ValueError) as exc:
            reason = f"invalid {original_key!r} message: {_one_line(exc)}"
            await self._dead_letter(message, headers, reason)
            return Outcome("dead", reason)

        log_ctx = {"event_name": event.name, "event_id": event.event_id}
        idem = self.idempotency_key(event) if self.idempotency_key else None
        if not (idem and self.store):
            return await self._handle(event, message, headers, original_key, None, log_ctx)
        lock = self._key_locks.setdefault(idem, asyncio.Lock())
        try:
            async with lock:
                return await self._handle(event, message, headers, original_key, idem, log_ctx)
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._key_locks.pop(idem, None)

    async def _handle(
        self,
        event: Event,
        message: AbstractIncomingMessage,
        headers: dict[str, Any],
        original_key: str,
        idem: str | None,
        log_ctx: dict[str, Any],
    ) -> Outcome:
        try:
            duplicate = bool(idem and self.store and await self.store.seen(idem))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The store is away (MongoDB down): a transient failure like any other.
            # Raising here would leave the delivery unacked for the channel's life, and
            # `prefetch` of them stall the consumer for good.
            return await self._retry_or_give_up(event, message, headers, original_key, exc, log_ctx)
        if duplicate:
            log.info("duplicate skipped", key=idem, **log_ctx)
            await message.ack()
            return Outcome("duplicate")
        crashes = _int_header(headers.get("x-delivery-count"))
        if crashes >= DELIVERY_LIMIT - 1:
            # Delivered again and again without an ack: it kills the process (memory,
            # a native crash). The broker would dead-letter it after one more try; give
            # up now, while this process can still tell the requester why.
            reason = f"the {self.service} process died {crashes} times on this message (out of memory?)"
            log.error("giving up on a crash loop", reason=reason, **log_ctx)
            await self._give_up(event, message, headers, reason)
            return Outcome("dead", reason)
        try:
            await self.handler(event, message)
        except PermanentError as exc:
            reason = _one_line(exc)
            log.warning("permanent failure", reason=reason, **log_ctx)
            await self._give_up(event, message, headers, reason)
            return Outcome("dead", reason, failed=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self._retry_or_give_up(event, message, headers, original_key, exc, log_ctx)
        if idem and self.store:
            try:
                await self.store.mark(idem)
            except Exception as exc:
                # The work is done and handlers are idempotent by their own keys: ack
                # anyway (a redelivery would redo it harmlessly) rather than stall.
                log.warning("idempotency key not recorded", key=idem, reason=_one_line(exc), **log_ctx)
        await message.ack()
        return Outcome("ok")

    async def _retry_or_give_up(
        self,
        event: Event,
        message: AbstractIncomingMessage,
        headers: dict[str, Any],
        original_key: str,
        exc: Exception,
        log_ctx: dict[str, Any],
    ) -> Outcome:
        """Down the retry ladder (back-off), or to the dead-letter queue once it is climbed."""
        retries = int(headers.get(RETRY_HEADER, 0) or 0)
        reason = _one_line(exc)
        if retries >= min(self.settings.max_retries, len(self.settings.retry_backoff_s)):
            log.error("giving up", reason=reason, retries=retries, tb=traceback.format_exc(), **log_ctx)
            await self._give_up(event, message, headers, f"failed {retries + 1} times: {reason}")
            return Outcome("dead", reason, failed=True)
        delay = self.settings.retry_backoff_s[retries]
        log.warning("will retry", reason=reason, retries=retries, delay_s=delay, **log_ctx)
        await self._republish(
            message, headers | {RETRY_HEADER: retries + 1, REASON_HEADER: reason},
            exchange_name="", routing_key=retry_queue_name(self.settings, self.service, delay),
            original_key=original_key,
        )
        return Outcome("retry", reason, failed=True)

    async def _give_up(
        self, event: Event, message: AbstractIncomingMessage, headers: dict[str, Any], reason: str
    ) -> None:
        """Tell whoever waits on this event (the hook), then park it in the dead queue."""
        if self.on_dead is not None:
            try:
                await self.on_dead(event, reason)
            except Exception as exc:  # the message is kept in the dead queue either way
                log.error("dead-letter hook failed", reason=_one_line(exc), event_id=event.event_id)
        await self._dead_letter(message, headers, reason)

    async def _dead_letter(self, message: AbstractIncomingMessage, headers: dict[str, Any], reason: str) -> None:
        await self._republish(
            message, headers | {REASON_HEADER: reason[:1000], DEAD_AT_HEADER: datetime.now(UTC).isoformat()},
            exchange_name=dead_letter_exchange_name(self.settings), routing_key=self.service,
            original_key=_original_routing_key(headers) or message.routing_key or "",
        )

    async def _republish(
        self,
        message: AbstractIncomingMessage,
        headers: dict[str, Any],
        *,
        exchange_name: str,
        routing_key: str,
        original_key: str,
    ) -> None:
        # Publish the copy (confirmed) before acking the original: a crash in between
        # duplicates the message, which idempotent handlers absorb, and loses nothing.
        headers = {k: v for k, v in headers.items() if k != "x-death"}
        headers["x-original-routing-key"] = original_key
        copy = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            type=message.type,
        )
        if exchange_name:
            exchange = await self.channel.get_exchange(exchange_name, ensure=False)
        else:
            exchange = self.channel.default_exchange
        await exchange.publish(copy, routing_key=routing_key, mandatory=False, timeout=30)
        await message.ack()


def _header_str(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value) if value else None


def _original_routing_key(headers: dict[str, Any]) -> str | None:
    return _header_str(headers.get("x-original-routing-key"))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


def _int_header(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
