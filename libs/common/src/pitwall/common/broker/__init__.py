"""RabbitMQ: topology, confirmed publishing and the consumer helper."""

from .connection import CORRELATION_HEADER, Publisher, build_message, connect
from .consumer import (
    REASON_HEADER,
    RETRY_HEADER,
    Consumer,
    IdempotencyStore,
    Outcome,
    PermanentError,
)
from .topology import (
    CONSUMERS,
    dead_letter_queue_name,
    declare_exchanges,
    declare_service,
    queue_name,
    retry_queue_name,
)

__all__ = [
    "CONSUMERS",
    "CORRELATION_HEADER",
    "REASON_HEADER",
    "RETRY_HEADER",
    "Consumer",
    "IdempotencyStore",
    "Outcome",
    "PermanentError",
    "Publisher",
    "build_message",
    "connect",
    "dead_letter_queue_name",
    "declare_exchanges",
    "declare_service",
    "queue_name",
    "retry_queue_name",
]
