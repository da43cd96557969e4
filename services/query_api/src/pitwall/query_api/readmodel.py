"""The collections query_api reads (owned and indexed by ingest: never written here).

Names mirror `pitwall.ingest.repository`; query_api does not import ingest so that the
gateway image carries no ingest code.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from pitwall.common import summaries as _summaries
from pitwall.query_api.deps import Resources

RUNS = "runs"
# The slim copy of each run that lists and facets read.
RUN_SUMMARIES = _summaries.COLLECTION
SIGNALS = "signals"
JOBS = "jobs"
TOKENS = "tokens"
STATIONS = "stations"

Collection = AsyncCollection[dict[str, Any]]


def database(res: Resources) -> AsyncDatabase[dict[str, Any]]:
    return res.mongo[res.settings.mongo_db]


def runs(res: Resources) -> Collection:
    return database(res)[RUNS]


def summaries(res: Resources) -> Collection:
    return database(res)[RUN_SUMMARIES]


def signals(res: Resources) -> Collection:
    return database(res)[SIGNALS]


def jobs(res: Resources) -> Collection:
    return database(res)[JOBS]


def tokens(res: Resources) -> Collection:
    return database(res)[TOKENS]


def stations(res: Resources) -> Collection:
    return database(res)[STATIONS]
