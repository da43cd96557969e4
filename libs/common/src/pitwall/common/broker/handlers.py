"""What a consuming service does with each event, declared once: the handler registry.

Each consuming service keeps one registry in `pitwall.<service>.handlers` (named HANDLERS):

    HANDLERS: Handlers[Ingestor] = Handlers("ingest")

    @HANDLERS.on(FileUploaded)
    async def file_uploaded(ingestor: Ingestor, event: FileUploaded) -> None: ...

The service's queue is bound to exactly the routing keys of the registered event classes
(`topology.CONSUMERS` reads them from there), and the consumer dispatches on the event's
class: adding an event to a service means adding its handler, nothing else.

A handler takes the service's context (whatever it needs to work: databases, stores, a
publisher) and the event; `bind` gives the consumer one function over all of them.
Handler modules stay light (heavy imports inside the handlers, or types only under
TYPE_CHECKING): every publisher reads them to declare the queues before it publishes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from aio_pika.abc import AbstractIncomingMessage

from pitwall.common.events import Event
from pitwall.common.logging import get_logger

log = get_logger(__name__)

C = TypeVar("C")
E = TypeVar("E", bound=Event)
HandlerFn = Callable[[C, E], Awaitable[None]]
# What the consumer calls for every delivery (see `consumer.Handler`).
Dispatch = Callable[[Event, AbstractIncomingMessage], Awaitable[None]]


class Handlers(Generic[C]):
    """One consuming service's handlers, one per event class, in the order registered."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._by_event: dict[type[Event], HandlerFn[C, Any]] = {}

    def on(self, *events: type[E]) -> Callable[[HandlerFn[C, E]], HandlerFn[C, E]]:
        """Register the decorated function as the handler of each event class given."""
        if not events:
            raise TypeError("on() needs at least one event class")

        def register(fn: HandlerFn[C, E]) -> HandlerFn[C, E]:
            for event in events:
                if event in self._by_event:
                    raise ValueError(f"{self.service} handles {event.name} twice")
                self._by_event[event] = fn
            return fn

        return register

    @property
    def events(self) -> tuple[type[Event], ...]:
        return tuple(self._by_event)

    @property
    def bindings(self) -> tuple[str, ...]:
        """The routing keys the service's queue is bound to: its events' names."""
        return tuple(event.name for event in self._by_event)

    def bind(self, context: C) -> Dispatch:
        """The consumer's handler: the registered function of the event's class."""

        async def dispatch(event: Event, _message: AbstractIncomingMessage) -> None:
            fn = self._by_event.get(type(event))
            if fn is None:
                # Only a message sent to the queue by hand gets here (the bindings are
                # the registry's): acked and noted, as a service always did with a stray.
                log.warning("no handler for this event", service=self.service, event_name=event.name)
                return
            await fn(context, event)

        return dispatch
