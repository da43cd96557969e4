"""`pitwall basestation run|status|sync`: the track-side station, for people."""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="The base station: logs off the car into the cloud.")


class After(StrEnum):
    never = "never"
    confirmed = "confirmed"


_CONFIG = typer.Option(None, "--config", "-c", help="station TOML file (else PITWALL_BASESTATION_CONFIG)")
_WATCH = typer.Option(None, "--watch", help="also take logs from this folder")
_AFTER = typer.Option(None, "--delete-from-car-after",
                      help="remove a car file only after the cloud confirmed its exact hash (default never)")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"pitwall basestation: error: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Path | None, watch: Path | None, after: After | None, **more: Any) -> Any:
    from pitwall.basestation.settings import load_station_settings

    try:
        return load_station_settings(config, watch_dir=watch,
                                     delete_from_car_after=after.value if after else None, **more)
    except ValueError as exc:
        _fail(str(exc))


@app.command("run")
def run(config: Path | None = _CONFIG, watch: Path | None = _WATCH, after: After | None = _AFTER) -> None:
    """The daemon in the foreground (what `pitwall service basestation` runs), with flags."""
    from pitwall.basestation.app import serve
    from pitwall.common.logging import configure_logging
    from pitwall.common.runtime import run_service
    from pitwall.common.settings import get_settings

    settings = _settings(config, watch, after)
    configure_logging("basestation", "console", "INFO")
    run_service(lambda _s, stop: serve(settings, stop), get_settings())


@app.command("status")
def status(
    config: Path | None = _CONFIG, as_json: bool = typer.Option(False, "--json", help="machine-readable")
) -> None:
    """Every file the station knows: state, size, age, attempts, last error; totals."""
    from pitwall.basestation.journal import Journal
    from pitwall.basestation.status import render, report

    settings = _settings(config, None, None)
    if not settings.journal.exists():
        _fail(f"no journal at {settings.journal}: has the station run here? (--config, PITWALL_BASESTATION_SPOOL_DIR)")
    journal = Journal(settings.journal)
    try:
        doc = report(journal)
        typer.echo(json.dumps(doc, indent=1) if as_json else render(doc, journal))
    finally:
        journal.close()


@app.command("sync")
def sync(
    once: bool = typer.Option(True, "--once/--no-once", help="one pass, then exit"),
    wait: float = typer.Option(120.0, "--wait", help="seconds to wait for the cloud's verdicts"),
    config: Path | None = _CONFIG,
    watch: Path | None = _WATCH,
    after: After | None = _AFTER,
) -> None:
    """One pass: take finished files, upload them, wait for the runs. Exit 0 only when all are confirmed."""
    from pitwall.basestation.journal import Journal
    from pitwall.basestation.station import Station
    from pitwall.basestation.status import render, report
    from pitwall.common.logging import configure_logging

    configure_logging("basestation", "console", "WARNING")
    settings = _settings(config, watch, after)
    if not settings.all_sources():
        _fail("no sources: --watch DIR, PITWALL_BASESTATION_WATCH_DIR or [[sources]] in --config")

    async def go() -> bool:
        station = Station(settings)
        try:
            return await station.sync_once(wait)
        finally:
            await station.close()

    ok = asyncio.run(go())
    journal = Journal(settings.journal)
    try:
        typer.echo(render(report(journal), journal))
    finally:
        journal.close()
    raise typer.Exit(0 if ok else 1)
