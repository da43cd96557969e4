"""Runs: find, look at, edit, delete, restore, and the links to their original file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse

from pitwall.query_api.deps import Admin, Editor, Reader, Res
from pitwall.query_api.domain import runs
from pitwall.query_api.domain.runs import IsoDatetime
from pitwall.query_api.downloads import stream_object
from pitwall.query_api.errors import AUTH, NOT_FOUND, UNAVAILABLE
from pitwall.query_api.models import (
    CommandAccepted,
    Facets,
    LapsResponse,
    Link,
    RunDetail,
    RunPage,
    RunPatch,
    TrackResponse,
)
from pitwall.query_api.queries import Sort

router = APIRouter(prefix="/api/v1", tags=["runs"], responses=AUTH)

MAX_VALUES = 20
NAME_RULE = (
    "A name some run has exactly matches only itself; any other matches every name of which each of "
    "its words (case ignored) starts a word: `Michigan` finds \"Michigan International Speedway - lot 5\"."
)
# The three commands on a run answer alike: accepted (202), unknown run, broker away.
COMMAND: dict[str, Any] = {"response_model": CommandAccepted, "status_code": status.HTTP_202_ACCEPTED,
                           "responses": {**NOT_FOUND, **UNAVAILABLE}}


def _values(description: str) -> Any:
    return Query(max_length=MAX_VALUES, description=description)


@router.get("/runs", response_model=RunPage, summary="Find runs")
async def get_runs(
    res: Res,
    who: Reader,
    recorded_after: Annotated[IsoDatetime | None, Query(description="ISO 8601; runs that started at or after")] = None,
    recorded_before: Annotated[IsoDatetime | None, Query(description="ISO 8601; runs that started before")] = None,
    track: Annotated[list[str], _values(f"track name; several: any of them. {NAME_RULE}")] = [],  # noqa: B006 - FastAPI copies defaults
    driver: Annotated[list[str], _values(f"driver name; several: any of them. {NAME_RULE}")] = [],  # noqa: B006
    event_type: Annotated[
        list[str], _values("endurance, autocross, skidpad, acceleration, testing...; several: any")
    ] = [],  # noqa: B006
    car: Annotated[list[str], _values(f"car name; several: any of them. {NAME_RULE}")] = [],  # noqa: B006
    status_: Annotated[
        list[Literal["ready", "recovered", "rejected"]], Query(alias="status", max_length=3)
    ] = [],  # noqa: B006
    tag: Annotated[list[str], _values("runs with every one of these tags")] = [],  # noqa: B006
    has_topic: Annotated[list[str], _values("runs that recorded every one of these topics")] = [],  # noqa: B006
    has_signal: Annotated[list[str], _values("runs with every one of these `topic:path` signals")] = [],  # noqa: B006
    where: Annotated[
        list[str],
        Query(max_length=10, description="signal statistic predicates, all must hold: `VNData:vn_vel.x.max>25` "
                                         "(stats min, max, mean, count; ops > >= < <= =)"),
    ] = [],  # noqa: B006
    q: Annotated[
        str | None,
        Query(max_length=500, description="free text over file name, notes and setup: every word must match a word "
                                          "or a word's start (`endur` finds endurance)"),
    ] = None,
    event: Annotated[
        str | None,
        Query(max_length=200, description="runs with events whose kind or note has every word (or a word's start): "
                                          "`lockup`, `lock t3`"),
    ] = None,
    include_deleted: Annotated[bool, Query(description="admins only: list soft-deleted runs too")] = False,
    sort: Annotated[
        Sort,
        Query(description="`-start`: newest recording first (default); `start`: oldest recording first; "
                          "`-uploaded`: last catalogued first, whatever the file's clock said; "
                          "`uploaded`: first catalogued first"),
    ] = "-start",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000, description="`next_cursor` of the previous page")] = None,
) -> RunPage:
    """Runs matching every filter given, newest first, one page at a time.

    Runs without a start time (rejected files) come last in either recording order;
    in the upload orders every run has its place.
    """
    values = {"track": track, "driver": driver, "event_type": event_type, "car": car, "tag": tag,
              "has_topic": has_topic, "has_signal": has_signal, "where": where}
    filters = runs.list_filters(who, values, list(status_), recorded_after, recorded_before,
                                q, event, include_deleted, sort)
    return await runs.list_page(res, filters, limit, cursor)


@router.get("/facets", response_model=Facets, summary="Values to filter by")
async def get_facets(res: Res, who: Reader) -> Facets:
    """The distinct tracks, drivers, event types, cars and tags of the runs (for pickers)."""
    return await runs.facets(res)


@router.get("/runs/{run_id}", response_model=RunDetail, responses=NOT_FOUND, summary="One run")
async def get_run(run_id: str, res: Res, who: Reader) -> RunDetail:
    return await runs.detail(res, run_id, who)


@router.patch("/runs/{run_id}", **COMMAND, summary="Edit setup, notes, tags")
async def patch_run(run_id: str, patch: RunPatch, res: Res, who: Editor) -> CommandAccepted:
    """Asks ingest to change the run; the change shows within moments (202)."""
    return await runs.command(res, run_id, who, "update", runs.changes_of(patch))


@router.delete("/runs/{run_id}", **COMMAND, summary="Delete (soft)")
async def delete_run(run_id: str, res: Res, who: Editor) -> CommandAccepted:
    """Hides the run; its file and data are kept and an admin can restore it."""
    return await runs.command(res, run_id, who, "delete")


@router.post("/runs/{run_id}/restore", **COMMAND, summary="Restore a deleted run (admin)")
async def restore_run(run_id: str, res: Res, who: Admin) -> CommandAccepted:
    return await runs.command(res, run_id, who, "restore")


@router.get("/runs/{run_id}/track", response_model=TrackResponse, responses=NOT_FOUND, summary="GPS track and laps")
async def get_track(run_id: str, res: Res, who: Reader) -> TrackResponse:
    return await runs.track(res, run_id, who)


@router.get("/runs/{run_id}/laps", response_model=LapsResponse, responses=NOT_FOUND, summary="Laps")
async def get_laps(run_id: str, res: Res, who: Reader) -> LapsResponse:
    return await runs.laps(res, run_id, who)


@router.get("/runs/{run_id}/mcap", response_model=Link, responses=NOT_FOUND, summary="Link to the original MCAP")
async def get_mcap_link(run_id: str, res: Res, who: Reader) -> Link:
    """A short-lived direct link to the original file (for Foxglove or the `mcap` CLI)."""
    key, filename = await runs.mcap_object(res, run_id, who)
    url = res.store.presigned_get(res.settings.bucket_mcap, key, filename=filename)
    return Link(url=url, filename=filename, expires_in_s=res.settings.presign_expiry_s)


@router.get(
    "/runs/{run_id}/mcap/file", responses={**NOT_FOUND, 200: {"content": {"application/x-mcap": {}}}},
    response_class=StreamingResponse, summary="The original MCAP through the API",
)
async def get_mcap_file(run_id: str, res: Res, who: Reader) -> StreamingResponse:
    """The same file streamed through the API: for clients that cannot reach S3 directly."""
    key, filename = await runs.mcap_object(res, run_id, who)
    return await stream_object(res, res.settings.bucket_mcap, key, filename, "application/x-mcap")
