"""Converter service: competing consumers of `conversion.requested` (prefetch 1)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pitwall.common import metrics
from pitwall.common.broker import Publisher
from pitwall.common.events import (
    ConversionCompleted,
    ConversionFailed,
    ConversionProgress,
    ConversionRequested,
    Event,
)
from pitwall.common.logging import current_correlation_id, get_logger
from pitwall.common.runtime import release_free_memory, retry_forever, run_service
from pitwall.common.settings import Settings
from pitwall.common.shell import consume_until_stopped, wiring
from pitwall.common.storage import ObjectStore
from pitwall.converter.handlers import HANDLERS
from pitwall.converter.worker import ConversionError, Result, convert

log = get_logger(__name__)
PROGRESS_EVERY_S = 1.0


class ProgressBox:
    """Written by the conversion thread, read by the loop that publishes progress."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0.0
        self.stage = "queued"

    def set(self, value: float, stage: str) -> None:
        with self._lock:
            self.value, self.stage = max(self.value, min(1.0, value)), stage

    def get(self) -> tuple[float, str]:
        with self._lock:
            return self.value, self.stage


def _convert(req: ConversionRequested, store: ObjectStore, progress: Callable[[float, str], None]) -> Result:
    try:
        return convert(req, store, progress)
    finally:
        # In the converting thread: Arrow's pool (mimalloc) gives back only the calling
        # thread's free pages. An idle converter then holds no export's peak.
        release_free_memory()


def _count(fmt: str, outcome: str, seconds: float) -> None:
    metrics.CONVERSIONS.labels(service="converter", format=fmt, outcome=outcome).inc()
    metrics.CONVERSION_SECONDS.labels(service="converter", format=fmt, outcome=outcome).observe(seconds)


async def handle_request(
    req: ConversionRequested, store: ObjectStore, publisher: Publisher
) -> None:
    box = ProgressBox()
    done = asyncio.Event()

    async def report() -> None:
        while not done.is_set():
            value, stage = box.get()
            await publisher.publish(
                ConversionProgress(job_id=req.job_id, progress=value, stage=stage)
            )
            try:
                await asyncio.wait_for(done.wait(), PROGRESS_EVERY_S)
            except TimeoutError:
                pass

    reporter = asyncio.create_task(report())
    started = time.perf_counter()
    try:
        result = await asyncio.to_thread(_convert, req, store, box.set)
    except ConversionError as exc:
        done.set()
        await reporter
        _count(req.format, "failed", time.perf_counter() - started)
        log.warning("conversion failed", job_id=req.job_id, reason=str(exc))
        # Deterministic event ids: a redelivered job announces its end under the same
        # id, so consumers that check ids see it once.
        await publisher.publish(
            ConversionFailed(
                event_id=f"conversion.failed.{req.job_id}", job_id=req.job_id, reason=str(exc)
            )
        )
        return
    finally:
        done.set()
    await reporter
    if result.cached:
        metrics.EXPORT_CACHE_HITS.labels(service="converter", format=req.format).inc()
        metrics.CONVERSIONS.labels(service="converter", format=req.format, outcome="cached").inc()
    else:
        _count(req.format, "completed", time.perf_counter() - started)
        metrics.CONVERSION_BYTES.labels(service="converter", format=req.format).inc(result.size)
    await publisher.publish(
        ConversionCompleted(
            event_id=f"conversion.completed.{req.job_id}",
            job_id=req.job_id,
            result_key=result.key,
            size=result.size,
            cached=result.cached,
            summary=result.summary,
        )
    )
    log.info(
        "conversion completed",
        job_id=req.job_id,
        key=result.key,
        bytes=result.size,
        cached=result.cached,
    )


@dataclass(frozen=True, slots=True)
class Converter:
    """What the converter's handlers (`pitwall.converter.handlers`) work with."""

    store: ObjectStore
    publisher: Publisher

    async def convert(self, event: ConversionRequested) -> None:
        log.info(
            "conversion started",
            job_id=event.job_id,
            runs=len(event.runs),
            correlation=current_correlation_id(),
        )
        try:
            await handle_request(event, self.store, self.publisher)
        finally:
            release_free_memory()  # again in the main thread: see its docstring


async def main(settings: Settings, stop: asyncio.Event) -> None:
    store = ObjectStore(settings)
    await retry_forever("s3", lambda: asyncio.to_thread(store.ensure_buckets), stop)
    async with wiring(settings, stop, "converter") as w:
        async def gave_up(event: Event, reason: str) -> None:
            # The job must end, not wait forever: the same id as a handled failure.
            assert isinstance(event, ConversionRequested)
            await w.publisher.publish(
                ConversionFailed(
                    event_id=f"conversion.failed.{event.job_id}", job_id=event.job_id,
                    reason=f"the export could not be made: {reason}",
                )
            )

        await consume_until_stopped(
            w, HANDLERS.service, HANDLERS.bind(Converter(store, w.publisher)), stop,
            prefetch=settings.converter_prefetch, on_dead=gave_up,
        )


def run(settings: Settings) -> None:
    metrics.serve(settings, "converter")
    run_service(main, settings)
