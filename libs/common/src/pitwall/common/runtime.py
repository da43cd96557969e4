"""Running a service: asyncio, graceful stop on SIGTERM/SIGINT, one log line per phase."""

from __future__ import annotations

import asyncio
import ctypes
import signal
import sys
from collections.abc import Awaitable, Callable

from pitwall.common.logging import get_logger
from pitwall.common.settings import Settings

log = get_logger(__name__)

ServiceMain = Callable[[Settings, asyncio.Event], Awaitable[None]]


def run_service(main: ServiceMain, settings: Settings) -> None:
    """Run `main(settings, stop)` until it returns; SIGTERM/SIGINT set `stop`."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(settings, stop)

    try:
        asyncio.run(runner())
    except KeyboardInterrupt:
        pass
    log.info("stopped")


async def retry_forever(what: str, factory: Callable[[], Awaitable[object]], stop: asyncio.Event) -> object:
    """Keep trying to reach a dependency at start-up instead of crash-looping."""
    delay = 0.5
    while not stop.is_set():
        try:
            return await factory()
        except Exception as exc:
            log.warning("dependency not ready", dependency=what, error=str(exc)[:200], retry_in_s=delay)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, 10.0)
    raise asyncio.CancelledError


def release_free_memory() -> None:
    """Hand freed memory back to the system after a big piece of work (a file decoded, an
    export written): Arrow's pool (mimalloc) and glibc's heap both keep what was freed
    for reuse, so an idle service would otherwise sit on its last file's peak.

    Call it in the thread that did the work (mimalloc collects that thread's heap) and
    once more in the main thread, the services' event loop: only there does mimalloc
    also give back pages that other threads (Arrow's own pools) freed. A few ms."""
    pyarrow = sys.modules.get("pyarrow")  # never imported just for this
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass
