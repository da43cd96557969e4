"""The broker topology, declared in one place.

One durable topic exchange carries every event (routing key = event name). Each
consuming service owns one durable queue bound to the events it has handlers for, a
ladder of retry queues (messages wait out a TTL there, then dead-letter back to the
service queue), and a dead-letter queue for messages that keep failing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from pitwall.common.settings import Settings

from .handlers import Handlers


@dataclass(frozen=True, slots=True)
class ServiceQueue:
    service: str
    bindings: tuple[str, ...]


# Who consumes from the broker: every installed package that plugs a handler registry into
# the entry-point group below (a service's pyproject: `[project.entry-points."pitwall.handlers"]
# ingest = "pitwall.ingest.handlers:HANDLERS"`), the way the mcap library finds its decoders.
# The shared library names no service, yet every publisher declares each consumer's queue and
# bindings before it publishes, so an event waits for a consumer that has not started yet.
# query_api and the base station consume nothing (the station sits outside the cloud network
# with an uploader token and asks the API what became of a file).
HANDLERS_GROUP = "pitwall.handlers"


@cache
def _registries() -> dict[str, EntryPoint]:
    found = {ep.name: ep for ep in entry_points(group=HANDLERS_GROUP)}
    if not found:
        raise RuntimeError(
            f"no service registers handlers in the entry-point group {HANDLERS_GROUP!r}: "
            "are the pitwall services installed (make install)?"
        )
    return dict(sorted(found.items()))


def consuming_services() -> tuple[str, ...]:
    """The services with a queue, in name order."""
    return tuple(_registries())


@cache
def _service_queue(service: str) -> ServiceQueue:
    # Loaded at first use: a registry module is light (handlers reach their work lazily).
    entry = _registries()[service]
    registry = entry.load()
    if not isinstance(registry, Handlers) or registry.service != service:
        raise TypeError(f"{entry.value} is not the Handlers of {service!r}")
    return ServiceQueue(service, registry.bindings)


class _Consumers(Mapping[str, ServiceQueue]):
    """service -> its queue's bindings, read from the service's handler registry."""

    def __getitem__(self, service: str) -> ServiceQueue:
        if service not in _registries():
            raise KeyError(service)
        return _service_queue(service)

    def __contains__(self, service: object) -> bool:
        return service in _registries()

    def __iter__(self) -> Iterator[str]:
        return iter(_registries())

    def __len__(self) -> int:
        return len(_registries())


CONSUMERS: Mapping[str, ServiceQueue] = _Consumers()

# A message that crashes its consumer this many times (redelivered without an ack) is
# dead-lettered by the server itself: no crash loop.
DELIVERY_LIMIT = 5


# Queue names start with the exchange's ("pitwall.ingest" in production): a queue is
# bound to one exchange and dead-letters through that exchange's DLX, so two exchanges
# in one vhost (tests) must not share queues.
def queue_name(settings: Settings, service: str) -> str:
    return f"{settings.exchange}.{service}"


def dead_letter_queue_name(settings: Settings, service: str) -> str:
    return f"{queue_name(settings, service)}.dead"


def retry_queue_name(settings: Settings, service: str, delay_s: float) -> str:
    return f"{queue_name(settings, service)}.retry.{int(delay_s * 1000)}ms"


def dead_letter_exchange_name(settings: Settings) -> str:
    return f"{settings.exchange}.dlx"


@dataclass(slots=True)
class Declared:
    exchange: AbstractExchange
    dead_letter_exchange: AbstractExchange
    queue: AbstractQueue | None = None


async def _supports_quorum(channel: AbstractChannel) -> bool:
    """Quorum queues (RabbitMQ >= 3.8) survive a node loss and support delivery limits."""
    try:
        underlay = await channel.get_underlay_channel()
        version = underlay.connection.server_properties.get("version", b"0")
        if isinstance(version, bytes):
            version = version.decode()
        major, minor = (int(x) for x in str(version).split(".")[:2])
        return (major, minor) >= (3, 8)
    except Exception:
        return False


async def declare_exchanges(channel: AbstractChannel, settings: Settings) -> Declared:
    exchange = await channel.declare_exchange(
        settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dlx = await channel.declare_exchange(
        dead_letter_exchange_name(settings), aio_pika.ExchangeType.DIRECT, durable=True
    )
    return Declared(exchange=exchange, dead_letter_exchange=dlx)


async def declare_service(
    channel: AbstractChannel, settings: Settings, service: str, bindings: tuple[str, ...] | None = None
) -> Declared:
    """Declare the exchanges plus a service's queue, retry ladder and dead-letter queue."""
    declared = await declare_exchanges(channel, settings)
    keys = bindings if bindings is not None else CONSUMERS[service].bindings
    name = queue_name(settings, service)
    args: dict[str, object] = {
        "x-dead-letter-exchange": declared.dead_letter_exchange.name,
        "x-dead-letter-routing-key": service,
    }
    if await _supports_quorum(channel):
        args |= {"x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT}
    queue = await channel.declare_queue(name, durable=True, arguments=args)  # type: ignore[arg-type]
    for key in keys:
        await queue.bind(declared.exchange, key)
    for delay in settings.retry_backoff_s:
        await channel.declare_queue(
            retry_queue_name(settings, service, delay),
            durable=True,
            arguments={
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": name,
            },
        )
    dead = await channel.declare_queue(dead_letter_queue_name(settings, service), durable=True)
    await dead.bind(declared.dead_letter_exchange, service)
    declared.queue = queue
    return declared


async def declare_all_services(channel: AbstractChannel, settings: Settings) -> Declared:
    """Declare every consuming service's queues, so an event published before its
    consumer first starts waits in that consumer's queue instead of being dropped."""
    declared = await declare_exchanges(channel, settings)
    for service in CONSUMERS:
        await declare_service(channel, settings, service)
    return declared
