"""MongoDB through PyMongo's async API (AsyncMongoClient; motor is deprecated)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from pitwall.common.settings import Settings


def make_client(settings: Settings) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(
        settings.mongo_url,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        tz_aware=True,
        appname="pitwall",
    )


def database(client: AsyncMongoClient[dict[str, Any]], settings: Settings) -> AsyncDatabase[dict[str, Any]]:
    return client[settings.mongo_db]


async def ping(client: AsyncMongoClient[dict[str, Any]]) -> None:
    await client.admin.command("ping")


# A backup older than this many schedule intervals is stale.
BACKUP_STALE_INTERVALS = 2
