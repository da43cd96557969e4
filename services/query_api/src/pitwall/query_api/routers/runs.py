"""Runs: find, look at, edit, delete, restore, and the links to their original file."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from pitwall.common.events import RunCommand
from pitwall.common.runevents import words
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Admin, Editor, Principal, Reader
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH, NOT_FOUND, UNAVAILABLE, invalid, not_found
from pitwall.query_api.models import (
    CommandAccepted,
    CommandAction,
    Facets,
    LapsResponse,
    Link,
    RunDetail,
    RunPage,
    RunPatch,
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

router = APIRouter(prefix="/api/v1", tags=["runs"], responses=AUTH)

MAX_VALUES = 20
Res = Annotated[Resources, Depends(resources)]
MAX_VALUE_CHARS = 300
NAME_RULE = (
    "A name some run has exactly matches only itself; any other matches every name of which each of "
    "its words (case ignored) starts a word: `Michigan` finds \"Michigan International Speedway - lot 5\"."
)


def _values(description: str) -> Any:
    return Query(max_length=MAX_VALUES, description=description)


def _iso_only(value: Any) -> Any:
    # pydantic would also read a bare number as a Unix time: "2024" must not be 1970.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date or date-time, e.g. 2024-05-01 or 2024-05-01T14:00:00Z")
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]


def summary(doc: dict[str, Any]) -> RunSummary:
    return RunSummary.model_validate(finite({**doc, "id": doc["_id"]}))


async def find_run(res: Resources, run_id: str, who: Principal, projection: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run document, or 404; deleted runs exist only for admins."""
    proj = {**projection, "deleted": 1} if projection else {"signal_keys": 0, "search": 0}
    doc = await readmodel.runs(res).find_one({"_id": run_id}, proj)
    if doc is None or (doc.get("deleted") and not who.is_admin):
        raise not_found(f"no run {run_id!r}")
    return doc


@router.get("/runs", response_model=RunPage, summary="Find runs")
async def get_runs(
    res: Res,
    who: Reader,
    recorded_after: Annotated[IsoDatetime | None, Query(description="ISO 8601; runs that started at or after")] = None,
    recorded_before: Annotated[IsoDatetime | None, Query(description="ISO 8601; runs that started before")] = None,
    track: Annotated[list[str], _values(f"track name; several: any of them. {NAME_RULE}")] = [],  # noqa: B006 - FastAPI copies defaults
    driver: Annotated[list[str], _values(f"driver name; several: any of them. {NAME_RULE}")] = [],  # noqa: B006
    event_type: Annotated[list[str], _values("endurance, autocross, skidpad, acceleration, testing...; several: any")] = [],  # noqa: B006
    car: Annotated[list[str], _values(f"car name; several: any of them. {NAME_RULE}")] = [],  # noqa: B006
    status_: Annotated[
        list[Literal["ready", "recovered", "rejected"]], Query(alias="status", max_length=3)
    ] = [],  # noqa: B006
    tag: Annotated[list[str], _values("runs with every one of these tags")] = [],  # noqa: B006
    has_topic: Annotated[list[str], _values("runs that recorded every one of these topics")] = [],  # noqa: B006
    has_signal: Annotated[list[str], _values("runs with every one of these `topic:path` signals")] = [],  # noqa: B006
    where: Annotated[
        list[str],
        Query(max_length=10, description="signal statistic predicates, all must hold: `VNData:vn_vel.x.max>25` (stats min, max, mean, count; ops > >= < <= =)"),
    ] = [],  # noqa: B006
    q: Annotated[str | None, Query(max_length=500, description="free text over file name, notes and setup: every word must match a word or a word's start (`endur` finds endurance)")] = None,
    event: Annotated[str | None, Query(max_length=200, description="runs with events whose kind or note has every word (or a word's start): `lockup`, `lock t3`")] = None,
    include_deleted: Annotated[bool, Query(description="admins only: list soft-deleted runs too")] = False,
    sort: Annotated[
        Sort,
        Query(description="`-start`: newest recording first (default); `start`: oldest recording first; "
                          "`-uploaded`: last catalogued first, whatever the file's clock said; `uploaded`: first catalogued first"),
    ] = "-start",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000, description="`next_cursor` of the previous page")] = None,
) -> RunPage:
    """Runs matching every filter given, newest first, one page at a time.

    Runs without a start time (rejected files) come last in either recording order;
    in the upload orders every run has its place.
    """
    for name, values in (("track", track), ("driver", driver), ("event_type", event_type), ("car", car),
                         ("tag", tag), ("has_topic", has_topic), ("has_signal", has_signal), ("where", where)):
        if any(len(v) > MAX_VALUE_CHARS for v in values):
            raise invalid(name, f"a value is longer than {MAX_VALUE_CHARS} characters")
    if include_deleted and not who.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins may list deleted runs (include_deleted)")
    if event is not None and event.strip() and not words(event):
        raise invalid("event", "search for words of at least 2 letters or digits", value=event)
    recorded_after = as_utc(recorded_after) if recorded_after else None
    recorded_before = as_utc(recorded_before) if recorded_before else None
    if recorded_after and recorded_before and recorded_before <= recorded_after:
        raise invalid("recorded_before", "must be after recorded_after", value=str(recorded_before))
    try:
        filters = RunFilters(
            recorded_after=recorded_after,
            recorded_before=recorded_before,
            track=tuple(track),
            driver=tuple(driver),
            event_type=tuple(event_type),
            car=tuple(car),
            status=tuple(dict.fromkeys(status_)),
            tag=tuple(tag),
            has_topic=tuple(has_topic),
            has_signal=tuple(has_signal),
            where=tuple(parse_where(w) for w in where),
            q=tuple(text_tokens(q or "")),
            event=tuple(sorted(set(words(event or "")))),
            include_deleted=include_deleted,
            sort=sort,
        )
        docs, next_cursor = await list_runs(readmodel.summaries(res), readmodel.signals(res), filters, limit, cursor)
    except FilterError as exc:
        raise invalid(exc.field, str(exc)) from None
    return RunPage(items=[summary(d) for d in docs], next_cursor=next_cursor, limit=limit)


@router.get("/facets", response_model=Facets, summary="Values to filter by")
async def get_facets(res: Res, who: Reader) -> Facets:
    """The distinct tracks, drivers, event types, cars and tags of the runs (for pickers)."""
    runs = readmodel.summaries(res)
    fields = {"track": "setup.track", "driver": "setup.driver", "event_type": "setup.event_type", "car": "setup.car", "tags": "tags"}
    values = await asyncio.gather(*(runs.distinct(f, {"deleted": False}) for f in fields.values()))
    return Facets(**{name: sorted(str(v) for v in vals if v not in (None, "")) for name, vals in zip(fields, values, strict=True)})


@router.get("/runs/{run_id}", response_model=RunDetail, responses=NOT_FOUND, summary="One run")
async def get_run(run_id: str, res: Res, who: Reader) -> RunDetail:
    doc = await find_run(res, run_id, who)
    return RunDetail.model_validate(finite({**doc, "id": doc.pop("_id")}))


async def _command(res: Resources, run_id: str, who: Principal, action: CommandAction, changes: dict[str, Any] | None = None) -> CommandAccepted:
    cmd = RunCommand(run_id=run_id, action=action, changes=changes or {}, actor=who.name)
    await publish(res, cmd)
    return CommandAccepted(command_id=cmd.event_id, run_id=run_id, action=action)


@router.patch(
    "/runs/{run_id}", response_model=CommandAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **UNAVAILABLE}, summary="Edit setup, notes, tags",
)
async def patch_run(run_id: str, patch: RunPatch, res: Res, who: Editor) -> CommandAccepted:
    """Asks ingest to change the run; the change shows within moments (202)."""
    changes = patch.model_dump(exclude_unset=True)
    if patch.setup is not None:
        changes["setup"] = patch.setup.model_dump(exclude_unset=True)
    if not changes or changes == {"setup": {}}:
        raise invalid("body", "nothing to change: send setup, notes or tags", location="body")
    await find_run(res, run_id, who, {"_id": 1})
    return await _command(res, run_id, who, "update", changes)


@router.delete(
    "/runs/{run_id}", response_model=CommandAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **UNAVAILABLE}, summary="Delete (soft)",
)
async def delete_run(run_id: str, res: Res, who: Editor) -> CommandAccepted:
    """Hides the run; its file and data are kept and an admin can restore it."""
    await find_run(res, run_id, who, {"_id": 1})
    return await _command(res, run_id, who, "delete")


@router.post(
    "/runs/{run_id}/restore", response_model=CommandAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **UNAVAILABLE}, summary="Restore a deleted run (admin)",
)
async def restore_run(run_id: str, res: Res, who: Admin) -> CommandAccepted:
    await find_run(res, run_id, who, {"_id": 1})
    return await _command(res, run_id, who, "restore")


@router.get("/runs/{run_id}/track", response_model=TrackResponse, responses=NOT_FOUND, summary="GPS track and laps")
async def get_track(run_id: str, res: Res, who: Reader) -> TrackResponse:
    doc = await find_run(res, run_id, who, {"track": 1, "laps": 1})
    track = doc.get("track") or {}
    return TrackResponse.model_validate(
        finite({"run_id": run_id, "available": bool(track.get("points")), **track, "laps": doc.get("laps") or []})
    )


@router.get("/runs/{run_id}/laps", response_model=LapsResponse, responses=NOT_FOUND, summary="Laps")
async def get_laps(run_id: str, res: Res, who: Reader) -> LapsResponse:
    doc = await find_run(res, run_id, who, {"laps": 1, "best_lap_s": 1})
    laps = doc.get("laps") or []
    return LapsResponse.model_validate(
        finite({"run_id": run_id, "lap_count": len(laps), "best_lap_s": doc.get("best_lap_s"), "laps": laps})
    )


async def _mcap_object(res: Resources, run_id: str, who: Principal) -> tuple[str, str]:
    doc = await find_run(res, run_id, who, {"object_key": 1, "filename": 1})
    if not doc.get("object_key"):
        raise not_found(f"run {run_id!r} has no stored file")
    return doc["object_key"], doc.get("filename") or f"{run_id}.mcap"


@router.get("/runs/{run_id}/mcap", response_model=Link, responses=NOT_FOUND, summary="Link to the original MCAP")
async def get_mcap_link(run_id: str, res: Res, who: Reader) -> Link:
    """A short-lived direct link to the original file (for Foxglove or the `mcap` CLI)."""
    key, filename = await _mcap_object(res, run_id, who)
    url = res.store.presigned_get(res.settings.bucket_mcap, key, filename=filename)
    return Link(url=url, filename=filename, expires_in_s=res.settings.presign_expiry_s)


@router.get(
    "/runs/{run_id}/mcap/file", responses={**NOT_FOUND, 200: {"content": {"application/x-mcap": {}}}},
    response_class=StreamingResponse, summary="The original MCAP through the API",
)
async def get_mcap_file(run_id: str, res: Res, who: Reader) -> StreamingResponse:
    """The same file streamed through the API: for clients that cannot reach S3 directly."""
    key, filename = await _mcap_object(res, run_id, who)
    return await stream_object(res, res.settings.bucket_mcap, key, filename, "application/x-mcap")


def content_disposition(filename: str) -> str:
    # Header values are latin-1: an ASCII fallback plus the RFC 5987 UTF-8 form.
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def stream_object(res: Resources, bucket: str, key: str, filename: str, media_type: str) -> StreamingResponse:
    size = await asyncio.to_thread(res.store.size, bucket, key)
    return StreamingResponse(
        res.store.iter_object(bucket, key, chunk=1024 * 1024),
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(filename), "Content-Length": str(size)},
    )
