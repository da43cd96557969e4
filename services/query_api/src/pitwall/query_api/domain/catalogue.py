"""The channel catalogue's operations: CAN sources in, edits, search, renames.

The catalogue collections are ingest's: a source and an edit travel as `catalogue.command`
events (answered 202, applied within moments). A source is parsed here first, so a file
cantools cannot read is refused at once with the line at fault and nothing is sent.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pitwall.common.catalogue import (
    INFO_FIELDS,
    CanSource,
    Catalogue,
    CatalogueError,
    load_can_source,
    match,
    source_doc,
)
from pitwall.common.contracts import mongo
from pitwall.common.contracts.searchwords import words
from pitwall.common.events import CatalogueCommand
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Principal
from pitwall.query_api.catalogue_models import (
    CatalogueEdit,
    CatalogueSearch,
    CatalogueSignal,
    EditAccepted,
    HistoryEntry,
    Rename,
    RenameList,
    SourceAdded,
    SourceDeleted,
    SourceList,
    SourceView,
)
from pitwall.query_api.domain.signalinfo import current
from pitwall.query_api.errors import invalid, not_found, rule
from pitwall.query_api.publishing import publish
from pitwall.query_api.resources import Resources

MAX_SOURCE_BYTES = 20 << 20  # ARXML exports run to megabytes; the team's SYM is 50 KB
SEARCH_LIMIT = 200


def _view(doc: dict[str, Any]) -> SourceView:
    return SourceView(
        id=doc["_id"], name=doc.get("name") or "", format=doc.get("format") or "",
        valid_from=date.fromisoformat(doc["valid_from"]) if doc.get("valid_from") else None,
        version=doc.get("version"), messages=int(doc.get("message_count") or 0),
        signals=int(doc.get("signal_count") or 0), uploaded_at=doc.get("uploaded_at"),
        uploaded_by=doc.get("uploaded_by"), deleted=bool(doc.get("deleted")), deleted_at=doc.get("deleted_at"),
    )


async def sources(res: Resources) -> SourceList:
    """Every source, live and deleted, newest upload first."""
    found = readmodel.database(res)[mongo.CATALOGUE_SOURCES].find({}, {"messages": 0}).sort("version", -1)
    return SourceList(items=[_view(d) for d in await found.to_list()])


async def known_keys(res: Resources) -> tuple[dict[str, str | None], list[str]]:
    """The topics (with schema names) and signal keys of existing runs."""
    topics: dict[str, str | None] = {}
    runs = readmodel.runs(res).find({"deleted": {"$ne": True}}, {"channels.topic": 1, "channels.schema_name": 1})
    async for doc in runs:
        for ch in doc.get("channels") or []:
            if ch.get("topic"):
                topics.setdefault(ch["topic"], ch.get("schema_name"))
    keys = [k for k in await readmodel.signals(res).distinct("key") if isinstance(k, str)]
    return topics, keys


def _said(entry: Any) -> tuple[Any, ...]:
    return (entry.unit, entry.description, tuple(sorted(entry.states.items())))


async def add_source(
    res: Resources, data: bytes, filename: str, valid_from: date | None, who: Principal
) -> SourceAdded:
    # Both fit the schema (any bytes) and break what the operation describes: `rule`.
    if not data:
        raise rule("file", "the file is empty", location="body")
    if len(data) > MAX_SOURCE_BYTES:
        raise rule("file", f"a CAN description is at most {MAX_SOURCE_BYTES >> 20} MB", location="body")
    try:
        source = load_can_source(data, filename or "upload", valid_from=valid_from)
    except CatalogueError as exc:
        raise rule("file", str(exc), location="body") from None
    topics, keys = await known_keys(res)
    named = match(source, topics, keys)
    changed = _changed_keys(await current(res), source, topics, keys, named)
    source_id = uuid.uuid4().hex
    cmd = CatalogueCommand(action="add_source", source_id=source_id, source=source_doc(source), actor=who.name)
    await publish(res, cmd)
    return SourceAdded(
        id=source_id, name=source.name, format=source.format, valid_from=valid_from, version=None,
        messages=source.message_count, signals=source.signal_count, uploaded_at=cmd.occurred_at,
        uploaded_by=who.name, matched=len(named), changed_keys=changed, command_id=cmd.event_id,
    )


def _changed_keys(
    catalogue: Catalogue, source: CanSource, topics: dict[str, str | None], keys: list[str], named: dict[str, Any]
) -> list[str]:
    """Keys of existing runs whose facts this upload changes against the live sources of
    the same date (the later upload wins: these are what it overrides)."""
    same_day = [s for s in catalogue.sources if s.valid_from == source.valid_from]
    if not same_day:
        return []
    before: dict[str, Any] = {}
    for old in sorted(same_day, key=lambda s: s.version):
        before.update(match(old, topics, keys))
    return sorted(k for k, entry in named.items() if k in before and _said(before[k]) != _said(entry))


async def delete_source(res: Resources, source_id: str, who: Principal) -> SourceDeleted:
    found = await readmodel.database(res)[mongo.CATALOGUE_SOURCES].find_one(
        {"_id": source_id, "deleted": {"$ne": True}}, {"_id": 1})
    if found is None:
        raise not_found(f"no catalogue source {source_id!r}")
    cmd = CatalogueCommand(action="delete_source", source_id=source_id, actor=who.name)
    await publish(res, cmd)
    return SourceDeleted(id=source_id, command_id=cmd.event_id)


async def edit(res: Resources, key: str, body: CatalogueEdit, who: Principal) -> EditAccepted:
    changes = body.changes()
    if not changes:
        raise invalid("body", f"set at least one of {', '.join((*INFO_FIELDS, 'renamed_to'))}", location="body")
    if changes.get("renamed_to") == key:
        raise rule("renamed_to", "a key cannot be renamed to itself", location="body")
    cmd = CatalogueCommand(action="edit", key=key, changes=changes, actor=who.name)
    await publish(res, cmd)
    return EditAccepted(command_id=cmd.event_id, key=key, changes=changes)


def _signal(catalogue: Catalogue, key: str, info: dict[str, Any], runs: int | None) -> CatalogueSignal:
    return CatalogueSignal(
        key=key, runs=runs, renamed_to=catalogue.renames.get(key), aliases=list(catalogue.names(key)[1:]),
        **info,
    )


async def signal(res: Resources, key: str) -> CatalogueSignal:
    """What the catalogue says of `key` today (the newest source), with its edit history."""
    catalogue = await current(res)
    names = list(catalogue.names(key))
    runs = len(await readmodel.signals(res).distinct("run_id", {"key": {"$in": names}}))
    topics, _ = await known_keys(res)
    info = catalogue.for_run(None, topics, [key]).get(key, {})
    doc = await readmodel.database(res)[mongo.CATALOGUE_EDITS].find_one({"_id": key}) or {}
    if not runs and not info and not doc:
        raise not_found(f"the catalogue knows no signal {key!r}")
    out = _signal(catalogue, key, dict(info), runs)
    out.history = [HistoryEntry.model_validate(h) for h in doc.get("history") or []]
    return out


async def search(res: Resources, q: str | None) -> CatalogueSearch:
    """Signal keys of existing runs and edited keys whose key, display name or description
    holds every word of `q` (word starts, any case); all of them without `q`."""
    catalogue = await current(res)
    topics, keys = await known_keys(res)
    every = sorted(set(keys) | set(catalogue.edits) | set(catalogue.renames))
    info = catalogue.for_run(None, topics, every)
    wanted = words(q or "", 1)
    items: list[CatalogueSignal] = []
    truncated = False
    for key in every:
        found = info.get(key, {})
        if wanted:
            text = " ".join([key, found.get("display_name") or "", found.get("description") or ""])
            have = words(text, 1)
            if not all(any(h.startswith(w) for h in have) for w in wanted):
                continue
        if len(items) >= SEARCH_LIMIT:
            truncated = True
            break
        items.append(_signal(catalogue, key, dict(found), None))
    return CatalogueSearch(q=q, items=items, truncated=truncated)


async def renames(res: Resources) -> RenameList:
    catalogue = await current(res)
    return RenameList(items=[Rename(old=o, new=n) for o, n in sorted(catalogue.renames.items())])
