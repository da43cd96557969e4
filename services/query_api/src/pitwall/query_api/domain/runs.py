"""Runs: the list's filters and pages, one run and its parts, and the commands that change
a run (published as `run.command`: ingest, the database's owner, applies them)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import HTTPException, status
from pydantic import BeforeValidator

from pitwall.common.contracts.documents import RunDoc
from pitwall.common.contracts.searchwords import words
from pitwall.common.events import RunCommand
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Principal
from pitwall.query_api.domain import signalinfo
from pitwall.query_api.errors import invalid, not_found, rule
from pitwall.query_api.models import (
    CommandAccepted,
    CommandAction,
    Facets,
    LapsResponse,
    LookupResponse,
    RunDetail,
    RunPage,
    RunPatch,
    RunState,
    RunSummary,
    TrackResponse,
    finite,
)
from pitwall.query_api.publishing import publish
from pitwall.query_api.queries import (
    FilterError,
    RunFilters,
    Sort,
    as_utc,
    list_runs,
    parse_where,
    text_tokens,
)
from pitwall.query_api.resources import Resources

MAX_VALUE_CHARS = 300
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# What the facets list: the summary field behind each picker.
FACET_FIELDS = {
    "track": "setup.track", "driver": "setup.driver", "event_type": "setup.event_type",
    "car": "setup.car", "tags": "tags",
}


def _iso_only(value: Any) -> Any:
    # pydantic would also read a bare number as a Unix time: "2024" must not be 1970.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError(
            "expected an ISO 8601 date or date-time, e.g. 2024-05-01 or 2024-05-01T14:00:00Z"
        )
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]


def summary(doc: dict[str, Any]) -> RunSummary:
    return RunSummary.model_validate(finite({**doc, "id": doc["_id"]}))


async def find_run(
    res: Resources, run_id: str, who: Principal, projection: dict[str, Any] | None = None
) -> RunDoc:
    """The run document, or 404; deleted runs exist only for admins."""
    proj = {**projection, "deleted": 1} if projection else {"signal_keys": 0, "search": 0}
    doc = cast("RunDoc | None", await readmodel.runs(res).find_one({"_id": run_id}, proj))
    if doc is None or (doc.get("deleted") and not who.is_admin):
        raise not_found(f"no run {run_id!r}")
    return doc


def list_filters(
    who: Principal,
    values: dict[str, list[str]],
    statuses: list[str],
    recorded_after: datetime | None,
    recorded_before: datetime | None,
    q: str | None,
    event: str | None,
    include_deleted: bool,
    sort: Sort,
) -> RunFilters:
    """The list's filters checked (422 naming the parameter, 403 for `include_deleted`
    without admin) and cut into what `queries` plans with. `values`: the repeatable
    parameters by name (track, driver, event_type, car, tag, has_topic, has_signal, where)."""
    for name, given in values.items():
        if any(len(v) > MAX_VALUE_CHARS for v in given):
            raise invalid(name, f"a value is longer than {MAX_VALUE_CHARS} characters")
    if include_deleted and not who.is_admin:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only admins may list deleted runs (include_deleted)"
        )
    if event is not None and event.strip() and not words(event):
        raise rule("event", "search for words of at least 2 letters or digits", value=event)
    recorded_after = as_utc(recorded_after) if recorded_after else None
    recorded_before = as_utc(recorded_before) if recorded_before else None
    if recorded_after and recorded_before and recorded_before <= recorded_after:
        raise rule("recorded_before", "must be after recorded_after", value=str(recorded_before))
    try:
        return RunFilters(
            recorded_after=recorded_after,
            recorded_before=recorded_before,
            track=tuple(values["track"]),
            driver=tuple(values["driver"]),
            event_type=tuple(values["event_type"]),
            car=tuple(values["car"]),
            status=tuple(dict.fromkeys(statuses)),
            tag=tuple(values["tag"]),
            has_topic=tuple(values["has_topic"]),
            has_signal=tuple(values["has_signal"]),
            where=tuple(parse_where(w) for w in values["where"]),
            q=tuple(text_tokens(q or "")),
            event=tuple(sorted(set(words(event or "")))),
            include_deleted=include_deleted,
            sort=sort,
        )
    except FilterError as exc:  # a `where` predicate the grammar its description gives does not read
        raise rule(exc.field, str(exc)) from None


async def list_page(res: Resources, filters: RunFilters, limit: int, cursor: str | None) -> RunPage:
    """One page of the list, read from the run summaries (see `queries`)."""
    if filters.where:
        # A renamed signal is found under any of its names.
        catalogue = await signalinfo.current(res)
        filters = replace(filters, where=tuple(replace(p, names=catalogue.names(p.key)) for p in filters.where))
    try:
        docs, next_cursor = await list_runs(
            readmodel.summaries(res), readmodel.signals(res), filters, limit, cursor,
            lambda p: signalinfo.runs_in_state(res, p.key, p.state or ""),
        )
    except FilterError as exc:  # a cursor this API did not hand out
        raise rule(exc.field, str(exc)) from None
    return RunPage(items=[summary(d) for d in docs], next_cursor=next_cursor, limit=limit)


async def facets(res: Resources) -> Facets:
    runs = readmodel.summaries(res)
    found = await asyncio.gather(
        *(runs.distinct(f, {"deleted": False}) for f in FACET_FIELDS.values())
    )
    return Facets(**{
        name: sorted(str(v) for v in vals if v not in (None, ""))
        for name, vals in zip(FACET_FIELDS, found, strict=True)
    })


async def detail(res: Resources, run_id: str, who: Principal) -> RunDetail:
    doc: dict[str, Any] = dict(await find_run(res, run_id, who))
    return RunDetail.model_validate(finite({**doc, "id": doc.pop("_id")}))


async def command(
    res: Resources, run_id: str, who: Principal, action: CommandAction,
    changes: dict[str, Any] | None = None,
) -> CommandAccepted:
    """Publish a `run.command` for a run the caller may see (404 otherwise)."""
    await find_run(res, run_id, who, {"_id": 1})
    cmd = RunCommand(run_id=run_id, action=action, changes=changes or {}, actor=who.name)
    await publish(res, cmd)
    return CommandAccepted(command_id=cmd.event_id, run_id=run_id, action=action)


def changes_of(patch: RunPatch) -> dict[str, Any]:
    """The fields a PATCH sets (a setup field sent as null clears it); 422 when none."""
    changes = patch.model_dump(exclude_unset=True)
    if patch.setup is not None:
        changes["setup"] = patch.setup.model_dump(exclude_unset=True)
    if not changes or changes == {"setup": {}}:
        raise rule("body", "nothing to change: send setup, notes or tags", location="body")
    return changes


async def track(res: Resources, run_id: str, who: Principal) -> TrackResponse:
    doc = await find_run(res, run_id, who, {"track": 1, "laps": 1})
    found: dict[str, Any] = dict(doc.get("track") or {})
    return TrackResponse.model_validate(finite({
        "run_id": run_id, "available": bool(found.get("points")), **found,
        "laps": doc.get("laps") or [],
    }))


async def laps(res: Resources, run_id: str, who: Principal) -> LapsResponse:
    doc = await find_run(res, run_id, who, {"laps": 1, "best_lap_s": 1})
    found = doc.get("laps") or []
    return LapsResponse.model_validate(finite({
        "run_id": run_id, "lap_count": len(found), "best_lap_s": doc.get("best_lap_s"),
        "laps": found,
    }))


async def mcap_object(res: Resources, run_id: str, who: Principal) -> tuple[str, str]:
    """(object key, file name) of the run's original file; 404 when none is stored."""
    doc = await find_run(res, run_id, who, {"object_key": 1, "filename": 1})
    key = doc.get("object_key")
    if not key:
        raise not_found(f"run {run_id!r} has no stored file")
    return key, doc.get("filename") or f"{run_id}.mcap"


async def lookup(res: Resources, sha256: list[str]) -> LookupResponse:
    """The state of every hash that is a run, and the hashes that are not (deleted runs
    included: a station must not upload their content again)."""
    wanted = list(dict.fromkeys(sha256))
    found: dict[str, RunState] = {}
    cursor = readmodel.runs(res).find(
        {"_id": {"$in": wanted}},
        {"status": 1, "reason": 1, "filename": 1, "filenames": 1, "deleted": 1},
    )
    async for doc in cursor:
        names = [doc.get("filename"), *(doc.get("filenames") or [])]
        found[doc["_id"]] = RunState(
            status=doc["status"], reason=doc.get("reason"),
            filenames=[n for n in dict.fromkeys(names) if isinstance(n, str)],
            deleted=bool(doc.get("deleted")),
        )
    return LookupResponse(runs=found, missing=[sha for sha in wanted if sha not in found])


async def is_known(res: Resources, sha256: str) -> bool:
    """A run with this content exists (deleted or not)."""
    return await readmodel.runs(res).find_one({"_id": sha256}, {"_id": 1}) is not None
