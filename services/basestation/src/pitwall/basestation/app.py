"""basestation service: `pitwall service basestation` runs the station daemon.

The station reads its own settings (`PITWALL_BASESTATION_*`, or a TOML file): it has
no broker or database settings to read, by design (see README.md).
"""

from __future__ import annotations

import asyncio

from pitwall.basestation.settings import StationSettings, load_station_settings
from pitwall.basestation.station import Station
from pitwall.common import metrics
from pitwall.common.logging import get_logger
from pitwall.common.runtime import run_service
from pitwall.common.settings import Settings

log = get_logger(__name__)


def _gauges(station: Station) -> None:
    status = station.status()
    where = {"car": status["pending_on_car"], "station": status["on_station"],
             "awaiting_confirmation": status["awaiting_confirmation"]}
    for name, count in where.items():
        metrics.STATION_PENDING_FILES.labels(service="basestation", where=name).set(count)
    metrics.STATION_PENDING_BYTES.labels(service="basestation").set(status["bytes_to_upload"])
    metrics.STATION_CLOUD_REACHABLE.labels(service="basestation").set(1 if status["cloud_reachable"] else 0)


async def _watch(station: Station, every_s: float, stop: asyncio.Event) -> None:
    # In the loop, not the metrics thread: the journal's SQLite connection is this thread's.
    while not stop.is_set():
        try:
            _gauges(station)
        except Exception as exc:
            log.debug("station gauges not updated", error=str(exc)[:200])
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass


async def serve(settings: StationSettings, stop: asyncio.Event, metrics_every_s: float = 5.0) -> None:
    station = Station(settings)
    watch = asyncio.create_task(_watch(station, metrics_every_s, stop))
    try:
        await station.run(stop)
    finally:
        watch.cancel()
        await station.close()


def run(_settings: Settings) -> None:
    try:
        station_settings = load_station_settings()
    except ValueError as exc:
        log.error("bad station settings", error=str(exc))
        raise SystemExit(2) from None
    if not station_settings.all_sources():
        log.warning("no sources configured: set PITWALL_BASESTATION_WATCH_DIR or [[sources]] in the TOML file")
    metrics.serve(_settings, "basestation")
    run_service(lambda _s, stop: serve(station_settings, stop, _settings.metrics_refresh_s), _settings)
