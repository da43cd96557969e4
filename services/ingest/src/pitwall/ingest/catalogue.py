"""query_api's catalogue commands, applied to the catalogue collections (ingest owns them).

Every change bumps the catalogue's generation, which readers compare to reload. Versioned:
a source gets the next upload number (of two sources of the same date the later one wins),
a deleted source is kept (soft delete, listed as deleted), and an edit keeps its history
(who, when, what it set, what was there before).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from pitwall.common.broker import PermanentError
from pitwall.common.catalogue import INFO_FIELDS
from pitwall.common.catalogue.reading import GENERATION
from pitwall.common.contracts import mongo
from pitwall.common.events import CatalogueCommand
from pitwall.common.logging import get_logger

log = get_logger(__name__)

EDIT_FIELDS = (*INFO_FIELDS, "renamed_to")


async def _next(db: AsyncDatabase[dict[str, Any]], field: str) -> int:
    doc = await db[mongo.CATALOGUE_STATE].find_one_and_update(
        {"_id": GENERATION}, {"$inc": {field: 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    return int(doc[field]) if doc else 1


async def apply_command(db: AsyncDatabase[dict[str, Any]], cmd: CatalogueCommand) -> None:
    now = datetime.now(UTC)
    if cmd.action == "add_source":
        if cmd.source_id is None or not cmd.source:
            raise PermanentError("add_source needs source_id and source")
        sources = db[mongo.CATALOGUE_SOURCES]
        if await sources.find_one({"_id": cmd.source_id}, {"_id": 1}) is not None:
            return  # a redelivered command: stored already
        version = await _next(db, "sources")
        doc = {**cmd.source, "_id": cmd.source_id, "version": version, "uploaded_at": cmd.occurred_at,
               "uploaded_by": cmd.actor, "deleted": False}
        await sources.update_one({"_id": cmd.source_id}, {"$setOnInsert": doc}, upsert=True)
        log.info("catalogue source added", source_id=cmd.source_id, name=doc.get("name"), version=version)
    elif cmd.action == "delete_source":
        result = await db[mongo.CATALOGUE_SOURCES].update_one(
            {"_id": cmd.source_id, "deleted": False},
            {"$set": {"deleted": True, "deleted_at": now, "deleted_by": cmd.actor}},
        )
        if not result.modified_count:
            return
        log.info("catalogue source deleted", source_id=cmd.source_id, by=cmd.actor)
    else:
        if not cmd.key:
            raise PermanentError("edit needs a key")
        edits = db[mongo.CATALOGUE_EDITS]
        before = await edits.find_one({"_id": cmd.key}) or {}
        if any(h.get("event_id") == cmd.event_id for h in before.get("history") or []):
            return
        changes = {k: v for k, v in cmd.changes.items() if k in EDIT_FIELDS}
        if not changes:
            raise PermanentError(f"edit of {cmd.key} changes none of {', '.join(EDIT_FIELDS)}")
        audit = {"actor": cmd.actor, "at": now, "event_id": cmd.event_id, "changes": changes,
                 "before": {k: before.get(k) for k in changes}}
        await edits.update_one(
            {"_id": cmd.key},
            {"$set": {**changes, "updated_at": now, "updated_by": cmd.actor}, "$push": {"history": audit}},
            upsert=True,
        )
        log.info("catalogue edit", key=cmd.key, fields=sorted(changes), by=cmd.actor)
    await _next(db, "n")
