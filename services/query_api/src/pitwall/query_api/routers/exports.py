"""Exports: ask the converter for exactly the signals and window needed, follow, download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import StreamingResponse
from sse_starlette.sse import EventSourceResponse

from pitwall.query_api.deps import Exporter, Reader, Res
from pitwall.query_api.domain import exports
from pitwall.query_api.downloads import stream_object
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE, Error
from pitwall.query_api.models import ExportAccepted, ExportRequest, ExportStatus

router = APIRouter(prefix="/api/v1", tags=["exports"], responses=AUTH)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "unknown export (or unknown run)"}}


@router.post(
    "/exports", response_model=ExportAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE}, summary="Ask for an export",
)
async def create_export(body: ExportRequest, res: Res, who: Exporter) -> ExportAccepted:
    """Signals (globs over `topic:path`), window (seconds since each run's origin),
    optional resampling, format and layout; one file per run (zipped when several).
    A glob or topic regex that selects no signal of the runs is a 422 naming it; the
    file is named after the run, the selection and the window."""
    return await exports.request_export(res, body, who)


@router.get("/exports/{job_id}", response_model=ExportStatus, responses=NOT_FOUND, summary="Export status")
async def get_export(job_id: str, res: Res, who: Reader) -> ExportStatus:
    """queued | running (with progress 0-1) | done (with a download link) | failed (with the reason)."""
    return await exports.status(res, job_id)


@router.get(
    "/exports/{job_id}/events", responses={**NOT_FOUND, 200: {"content": {"text/event-stream": {}}}},
    response_class=EventSourceResponse, summary="Export progress as server-sent events",
)
async def export_events(job_id: str, request: Request, res: Res, who: Reader) -> EventSourceResponse:
    """`progress` events (an ExportStatus as JSON) as it moves, then one `done` or `failed`."""
    first = await exports.status(res, job_id)
    return EventSourceResponse(exports.progress(res, first, request.is_disconnected), ping=15)


@router.get(
    "/exports/{job_id}/file", responses={**NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}},
    response_class=StreamingResponse, summary="Download the export through the API",
)
async def export_file(job_id: str, res: Res, who: Reader) -> StreamingResponse:
    key, filename = await exports.result(res, job_id)
    return await stream_object(res, res.settings.bucket_exports, key, filename, "application/octet-stream")
