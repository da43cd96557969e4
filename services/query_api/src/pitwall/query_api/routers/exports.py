"""Exports: ask the converter for exactly the signals and window needed, follow, download.

Job status lives in ingest's `jobs` collection (from conversion.* events), so it
survives restarts of every service. An id issued moments ago whose job ingest has not
recorded yet is answered as `queued` (see `jobids`).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import StreamingResponse
from sse_starlette.sse import EventSourceResponse

from pitwall.common.events import ConversionRequested
from pitwall.common.selection import Selection
from pitwall.query_api import jobids, readmodel
from pitwall.query_api.auth import Exporter, Reader
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, Error, invalid, not_found
from pitwall.query_api.exportnaming import RUN_FIELDS, export_names
from pitwall.query_api.models import ExportAccepted, ExportRequest, ExportStatus
from pitwall.query_api.publishing import publish
from pitwall.query_api.routers.runs import stream_object

router = APIRouter(prefix="/api/v1", tags=["exports"], responses=AUTH)
Res = Annotated[Resources, Depends(resources)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "unknown export (or unknown run)"}}
POLL_S = 0.5
EVENTS_MAX_S = 3600.0
TERMINAL = ("done", "failed")


@router.post(
    "/exports", response_model=ExportAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE}, summary="Ask for an export",
)
async def create_export(body: ExportRequest, res: Res, who: Exporter) -> ExportAccepted:
    """Signals (globs over `topic:path`), window (seconds since each run's origin),
    optional resampling, format and layout; one file per run (zipped when several).
    A glob or topic regex that selects no signal of the runs is a 422 naming it; the
    file is named after the run, the selection and the window."""
    if body.topics is not None:
        try:
            re.compile(body.topics)
        except re.error as exc:
            raise invalid("topics", f"not a regular expression: {exc}", location="body", value=body.topics) from None
    selection = Selection(topics=body.topics, signals=tuple(body.signals))
    runs = list(dict.fromkeys(body.runs))
    found = {
        d["_id"]: d
        async for d in readmodel.runs(res).find(
            {"_id": {"$in": runs}}, {"status": 1, "deleted": 1, "reason": 1, "events": 1, **RUN_FIELDS}
        )
    }
    for run_id in runs:
        doc = found.get(run_id)
        if doc is None or (doc.get("deleted") and not who.is_admin):
            raise not_found(f"no run {run_id!r}")
        if doc.get("status") == "rejected":
            raise invalid("runs", f"run {run_id[:12]}… was rejected ({doc.get('reason') or 'unreadable'}): nothing to export", location="body")
    start, end = body.start, body.end
    if body.event is not None:
        start, end = _event_window(found[runs[0]], body.event)
    names = await export_names(res, [found[r] for r in runs], selection, start, end, body.resample_hz)
    job_id = jobids.new_job_id()
    event = ConversionRequested(
        job_id=job_id,
        runs=runs,
        topics=body.topics,
        signals=body.signals,
        start_s=start,
        end_s=end,
        run_event=body.event,
        resample_hz=body.resample_hz,
        interp=body.interp,
        format=body.format,
        layout=body.layout,
        requested_by=who.name,
        filenames={r: found[r].get("filename") or r for r in runs},
        download_name=names.download,
        run_names=names.runs,
    )
    await publish(res, event)
    return ExportAccepted(
        id=job_id, status_url=f"/api/v1/exports/{job_id}", events_url=f"/api/v1/exports/{job_id}/events",
        start=start, end=end, event=body.event,
    )


def _event_window(run: dict[str, Any], event_id: str) -> tuple[float, float]:
    for e in run.get("events") or []:
        if e.get("id") == event_id:
            return float(e["start_s"]), float(e["end_s"])
    raise invalid("event", f"run {run['_id'][:12]}… has no event {event_id!r}", location="body", value=event_id)


def _filename(key: str | None) -> str | None:
    return PurePosixPath(key).name if key else None


async def _status(res: Resources, job_id: str) -> ExportStatus:
    if not jobids.is_job_id(job_id):
        raise not_found(f"no export {job_id!r}")
    doc: dict[str, Any] | None = await readmodel.jobs(res).find_one({"_id": job_id}, {"request": 0})
    if doc is None:
        if jobids.recently_issued(job_id):
            return ExportStatus(id=job_id, status="queued", progress=0.0, stage="queued")
        raise not_found(f"no export {job_id!r}")
    state = doc.get("status", "queued")
    key = doc.get("result_key") if state == "done" else None
    filename = _filename(key)
    return ExportStatus(
        id=job_id,
        status=state if state in ("queued", "running", "done", "failed") else "queued",
        progress=min(1.0, max(0.0, float(doc.get("progress") or 0.0))),
        stage=doc.get("stage"),
        reason=doc.get("error") if state == "failed" else None,
        download_url=res.store.presigned_get(res.settings.bucket_exports, key, filename=filename) if key else None,
        file_url=f"/api/v1/exports/{job_id}/file" if key else None,
        filename=filename,
        size=doc.get("size") if key else None,
        cached=doc.get("cached") if key else None,
        created_at=doc.get("created_at"),
        updated_at=doc.get("updated_at"),
        finished_at=doc.get("finished_at"),
    )


@router.get("/exports/{job_id}", response_model=ExportStatus, responses=NOT_FOUND, summary="Export status")
async def get_export(job_id: str, res: Res, who: Reader) -> ExportStatus:
    """queued | running (with progress 0-1) | done (with a download link) | failed (with the reason)."""
    return await _status(res, job_id)


async def _events(request: Request, res: Resources, first: ExportStatus) -> AsyncIterator[dict[str, str]]:
    current = first
    last: tuple[Any, ...] | None = None
    deadline = time.monotonic() + EVENTS_MAX_S
    while True:
        marker = (current.status, current.progress, current.stage)
        if marker != last:
            last = marker
            name = current.status if current.status in TERMINAL else "progress"
            yield {"event": name, "data": json.dumps(current.model_dump(mode="json"))}
        if current.status in TERMINAL or time.monotonic() > deadline or await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
        try:
            current = await _status(res, current.id)
        except Exception as exc:  # e.g. the job vanished after its grace: say so and stop
            yield {"event": "error", "data": json.dumps({"detail": str(getattr(exc, "detail", exc))})}
            return


@router.get(
    "/exports/{job_id}/events", responses={**NOT_FOUND, 200: {"content": {"text/event-stream": {}}}},
    response_class=EventSourceResponse, summary="Export progress as server-sent events",
)
async def export_events(job_id: str, request: Request, res: Res, who: Reader) -> EventSourceResponse:
    """`progress` events (an ExportStatus as JSON) as it moves, then one `done` or `failed`."""
    first = await _status(res, job_id)
    return EventSourceResponse(_events(request, res, first), ping=15)


@router.get(
    "/exports/{job_id}/file", responses={**NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}},
    response_class=StreamingResponse, summary="Download the export through the API",
)
async def export_file(job_id: str, res: Res, who: Reader) -> StreamingResponse:
    st = await _status(res, job_id)
    doc = await readmodel.jobs(res).find_one({"_id": job_id}, {"result_key": 1})
    if st.status != "done" or not doc or not doc.get("result_key"):
        raise not_found(f"export {job_id!r} has no file (status {st.status})")
    key = doc["result_key"]
    return await stream_object(res, res.settings.bucket_exports, key, _filename(key) or "export", "application/octet-stream")
