"""Reading the stored catalogue (ingest writes it; ingest and query_api read it this way).

`CatalogueReader` keeps the last catalogue it read and reloads only when the generation
(bumped by every change, see `pitwall.ingest.catalogue`) moved: one small read per use.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, TypeVar

from pymongo.asynchronous.database import AsyncDatabase

from pitwall.common.catalogue.resolve import Catalogue
from pitwall.common.catalogue.store import source_from_doc
from pitwall.common.contracts import mongo
from pitwall.common.contracts.signalinfo import INFO_FIELDS

GENERATION = "generation"
T = TypeVar("T")


async def generation(db: AsyncDatabase[dict[str, Any]]) -> int:
    doc = await db[mongo.CATALOGUE_STATE].find_one({"_id": GENERATION}, {"n": 1})
    return int(doc.get("n") or 0) if doc else 0


async def read_catalogue(db: AsyncDatabase[dict[str, Any]], at: int | None = None) -> Catalogue:
    """Every live source (upload order), every edit and rename, as one `Catalogue`."""
    gen = await generation(db) if at is None else at
    sources = await db[mongo.CATALOGUE_SOURCES].find({"deleted": {"$ne": True}}).sort("version", 1).to_list()
    edits: dict[str, dict[str, Any]] = {}
    renames: dict[str, str] = {}
    async for doc in db[mongo.CATALOGUE_EDITS].find({}, {"history": 0}):
        key = str(doc["_id"])
        fields = {f: doc[f] for f in INFO_FIELDS if doc.get(f)}
        if fields:
            edits[key] = fields
        if doc.get("renamed_to"):
            renames[key] = str(doc["renamed_to"])
    return Catalogue(
        sources=tuple(source_from_doc(d) for d in sources), edits=edits, renames=renames, generation=gen
    )


MEMO_SIZE = 256
# How long a reader trusts the generation it last read: a change shows within this (plus
# ingest's moment to apply it); a busy route pays one small read per interval, not per call.
CHECK_EVERY_S = 0.5


class CatalogueReader:
    """The current catalogue, reloaded when its generation changes, and a small memo of what
    it resolved (a run's whole signal tree is 865 keys: resolved once per generation)."""

    def __init__(self, check_every_s: float = CHECK_EVERY_S) -> None:
        self._current = Catalogue()
        self._lock = asyncio.Lock()
        self._checked = -float("inf")
        self._check_every = check_every_s
        self._memo: OrderedDict[tuple[int, Hashable], Any] = OrderedDict()

    async def get(self, db: AsyncDatabase[dict[str, Any]]) -> Catalogue:
        now = time.monotonic()
        if now - self._checked < self._check_every:
            return self._current
        gen = await generation(db)
        self._checked = now
        if gen == self._current.generation:
            return self._current
        async with self._lock:
            if gen != self._current.generation:
                self._current = await read_catalogue(db, gen)
        return self._current

    def recall(self, catalogue: Catalogue, key: Hashable) -> Any | None:
        """What `remember` kept for `key` under `catalogue`'s generation, else None."""
        full = (catalogue.generation, key)
        found = self._memo.get(full)
        if found is not None:
            self._memo.move_to_end(full)
        return found

    def remember(self, catalogue: Catalogue, key: Hashable, value: T) -> T:
        self._memo[(catalogue.generation, key)] = value
        while len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)
        return value
