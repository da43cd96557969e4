"""backup service."""

from __future__ import annotations

import asyncio

from aio_pika.abc import AbstractIncomingMessage

from pitwall.common.events import Event
from pitwall.common.logging import get_logger
from pitwall.common.runtime import run_service
from pitwall.common.settings import Settings
from pitwall.common.shell import consume_until_stopped, wiring

log = get_logger(__name__)


async def main(settings: Settings, stop: asyncio.Event) -> None:
    async def handle(event: Event, message: AbstractIncomingMessage) -> None:
        log.info("received", event_name=event.name, event_id=event.event_id)

    async with wiring(settings, stop, "backup") as w:
        await consume_until_stopped(w, "backup", handle, stop)


def run(settings: Settings) -> None:
    run_service(main, settings)
