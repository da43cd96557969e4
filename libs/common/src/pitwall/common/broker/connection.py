"""Connecting and publishing with publisher confirms."""

from __future__ import annotations

from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from pitwall.common.events import Event
from pitwall.common.logging import current_correlation_id, get_logger, new_correlation_id
from pitwall.common.settings import Settings

from .topology import declare_all_services

log = get_logger(__name__)

CORRELATION_HEADER = "x-correlation-id"


async def connect(settings: Settings, name: str = "pitwall") -> AbstractRobustConnection:
    # connect_robust reconnects and re-declares what was declared on its channels.
    return await aio_pika.connect_robust(settings.amqp_url, client_properties={"connection_name": name})


def build_message(event: Event, correlation_id: str | None = None) -> aio_pika.Message:
    cid = correlation_id or current_correlation_id() or new_correlation_id()
    return aio_pika.Message(
        event.model_dump_json().encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=event.event_id,
        correlation_id=cid,
        type=event.name,
        timestamp=datetime.now(UTC),
        headers={CORRELATION_HEADER: cid, "x-schema-version": event.schema_version},
    )


class Publisher:
    """Publishes events on the topic exchange and waits for the broker's confirm."""

    def __init__(self, channel: AbstractChannel, exchange: AbstractExchange) -> None:
        self.channel = channel
        self.exchange = exchange

    @classmethod
    async def open(cls, connection: AbstractRobustConnection, settings: Settings) -> Publisher:
        channel = await connection.channel(publisher_confirms=True)
        declared = await declare_all_services(channel, settings)
        return cls(channel, declared.exchange)

    async def publish(self, event: Event, correlation_id: str | None = None) -> object:
        """Publish and return the broker's confirmation (raises if it nacks or times out)."""
        message = build_message(event, correlation_id)
        # Every consumer's queue was declared by `open`, so each event has somewhere to
        # wait; mandatory=False: an event no service consumes (none today) is no error.
        confirmation = await self.exchange.publish(
            message, routing_key=event.name, mandatory=False, timeout=30
        )
        log.debug("published", event_name=event.name, event_id=event.event_id)
        return confirmation
