"""Shared resources of the gateway, opened once at start-up and handed out by FastAPI.

A module of its own (not `deps`) because `auth` and `readmodel` need the type while
`deps` imports `auth` for the guard aliases: keeping it here breaks that cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aio_pika.abc import AbstractRobustConnection
from fastapi import Request
from pymongo import AsyncMongoClient

from pitwall.common.broker import Publisher
from pitwall.common.catalogue import CatalogueReader
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore


@dataclass(slots=True)
class Resources:
    settings: Settings
    mongo: AsyncMongoClient[dict[str, Any]]
    store: ObjectStore
    amqp: AbstractRobustConnection | None = None
    publisher: Publisher | None = None
    # The channel catalogue as last read (reloaded when ingest changed it).
    catalogue: CatalogueReader = field(default_factory=CatalogueReader)


def resources(request: Request) -> Resources:
    res: Resources = request.app.state.resources
    return res
