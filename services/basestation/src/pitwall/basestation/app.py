"""basestation service: `pitwall service basestation` runs the station daemon.

The station reads its own settings (`PITWALL_BASESTATION_*`, or a TOML file): it has
no broker or database settings to read, by design (see README.md).
"""

from __future__ import annotations

import asyncio

from pitwall.basestation.settings import StationSettings, load_station_settings
from pitwall.basestation.station import Station
from pitwall.common.logging import get_logger
from pitwall.common.runtime import run_service
from pitwall.common.settings import Settings

log = get_logger(__name__)


async def serve(settings: StationSettings, stop: asyncio.Event) -> None:
    station = Station(settings)
    try:
        await station.run(stop)
    finally:
        await station.close()


def run(_settings: Settings) -> None:
    try:
        station_settings = load_station_settings()
    except ValueError as exc:
        log.error("bad station settings", error=str(exc))
        raise SystemExit(2) from None
    if not station_settings.all_sources():
        log.warning("no sources configured: set PITWALL_BASESTATION_WATCH_DIR or [[sources]] in the TOML file")
    run_service(lambda _s, stop: serve(station_settings, stop), _settings)
