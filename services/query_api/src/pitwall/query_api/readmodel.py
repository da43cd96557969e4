"""The collections query_api reads (owned and indexed by ingest, `backups` by the backup
service: never written here). Names come from `pitwall.common.contracts.mongo`.

Only the domain modules (and `auth`, `exportnaming`) use these; routers never do.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from pitwall.common.contracts import mongo
from pitwall.query_api.resources import Resources

Collection = AsyncCollection[dict[str, Any]]


def database(res: Resources) -> AsyncDatabase[dict[str, Any]]:
    return res.mongo[res.settings.mongo_db]


def runs(res: Resources) -> Collection:
    return database(res)[mongo.RUNS]


def summaries(res: Resources) -> Collection:
    """The slim copy of each run that lists and facets read."""
    return database(res)[mongo.RUN_SUMMARIES]


def signals(res: Resources) -> Collection:
    return database(res)[mongo.SIGNALS]


def jobs(res: Resources) -> Collection:
    return database(res)[mongo.JOBS]


def tokens(res: Resources) -> Collection:
    return database(res)[mongo.TOKENS]


def stations(res: Resources) -> Collection:
    return database(res)[mongo.STATIONS]


def outbox(res: Resources) -> Collection:
    """Ingest's events not yet published (ops reads its backlog)."""
    return database(res)[mongo.OUTBOX]


def backups(res: Resources) -> Collection:
    return database(res)[mongo.BACKUPS]
