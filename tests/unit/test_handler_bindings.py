"""The broker's queue bindings come from the services' handler registries (issue 22 part 4)."""

from __future__ import annotations

import importlib

import pytest
from aio_pika.abc import AbstractIncomingMessage

from pitwall.common.broker.handlers import Handlers
from pitwall.common.broker.topology import CONSUMERS, ServiceQueue, consuming_services
from pitwall.common.events import BackupDue, BackupFailed, Event, RunCommand, StationStatus

# The routing keys each queue was bound to before the registries (a literal table in
# topology.py): the wire must not change.
WIRE = {
    "ingest": {
        "file.uploaded", "run.command", "conversion.requested", "conversion.progress",
        "conversion.completed", "conversion.failed", "station.status", "token.command", "token.used",
        "catalogue.command", "math.command",
    },
    "converter": {"conversion.requested"},
    "backup": {"backup.due"},
}


def test_every_consumer_is_listed() -> None:
    assert set(CONSUMERS) == set(WIRE) == set(consuming_services())
    assert "query_api" not in CONSUMERS and "basestation" not in CONSUMERS


@pytest.mark.parametrize("service", sorted(WIRE))
def test_bindings_are_the_registered_events(service: str) -> None:
    registry = importlib.import_module(f"pitwall.{service}.handlers").HANDLERS
    assert registry.service == service
    assert CONSUMERS[service] == ServiceQueue(service, tuple(e.name for e in registry.events))
    assert set(CONSUMERS[service].bindings) == WIRE[service]
    assert len(CONSUMERS[service].bindings) == len(WIRE[service])  # no key bound twice


def test_unknown_service_is_not_a_consumer() -> None:
    with pytest.raises(KeyError):
        CONSUMERS["query_api"]


class _Context:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []


async def test_adding_a_handler_adds_its_binding_and_dispatch() -> None:
    handlers: Handlers[_Context] = Handlers("demo")

    @handlers.on(BackupDue)
    async def due(ctx: _Context, event: BackupDue) -> None:
        ctx.seen.append(("due", event.event_id))

    assert handlers.bindings == ("backup.due",)

    @handlers.on(BackupFailed, RunCommand)
    async def other(ctx: _Context, event: Event) -> None:
        ctx.seen.append(("other", event.event_id))

    assert handlers.bindings == ("backup.due", "backup.failed", "run.command")
    ctx = _Context()
    dispatch = handlers.bind(ctx)
    message: AbstractIncomingMessage = None  # type: ignore[assignment]  # unused by dispatch
    await dispatch(BackupDue(event_id="a"), message)
    await dispatch(BackupFailed(event_id="b", backup_id="x", reason="r", seconds=1.0), message)
    assert ctx.seen == [("due", "a"), ("other", "b")]
    # An event without a handler (sent to the queue by hand) is left alone.
    await dispatch(StationStatus.model_construct(event_id="c"), message)
    assert ctx.seen == [("due", "a"), ("other", "b")]


def test_an_event_registered_twice_is_refused() -> None:
    handlers: Handlers[None] = Handlers("demo")

    @handlers.on(BackupDue)
    async def first(_ctx: None, _event: BackupDue) -> None: ...

    with pytest.raises(ValueError, match="twice"):

        @handlers.on(BackupDue)
        async def second(_ctx: None, _event: BackupDue) -> None: ...
