"""`pitwall service NAME`: run one service in the foreground (what each container runs)."""

from __future__ import annotations

import importlib
from enum import StrEnum

import typer

from pitwall.common.logging import configure_logging
from pitwall.common.settings import get_settings


class ServiceName(StrEnum):
    ingest = "ingest"
    query_api = "query_api"
    converter = "converter"
    basestation = "basestation"
    backup = "backup"


def service(name: ServiceName = typer.Argument(..., help="which service to run")) -> None:
    """Run one pitwall service until SIGTERM/Ctrl-C."""
    settings = get_settings()
    configure_logging(name.value, settings.log_format, settings.log_level)
    module = importlib.import_module(f"pitwall.{name.value}.app")
    module.run(settings)
