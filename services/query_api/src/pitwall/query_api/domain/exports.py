"""Exports: a request checked against the runs and published as `conversion.requested`,
then the job's status as ingest records it, and its file.

Job status lives in ingest's `jobs` collection (from conversion.* events), so it
survives restarts of every service. An id issued moments ago whose job ingest has not
recorded yet is answered as `queued` (see `jobids`).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import PurePosixPath
from typing import Any, cast

from pitwall.common.catalogue import SignalInfo
from pitwall.common.contracts.documents import JobDoc, RunDoc
from pitwall.common.events import ConversionRequested
from pitwall.common.selection import Selection
from pitwall.query_api import jobids, readmodel
from pitwall.query_api.auth import Principal
from pitwall.query_api.domain import signalinfo
from pitwall.query_api.errors import invalid, not_found, rule
from pitwall.query_api.exportnaming import RUN_FIELDS, export_names
from pitwall.query_api.models import ExportAccepted, ExportRequest, ExportStatus
from pitwall.query_api.publishing import publish
from pitwall.query_api.resources import Resources

POLL_S = 0.5
EVENTS_MAX_S = 3600.0
TERMINAL = ("done", "failed")


async def _runs(res: Resources, runs: list[str], who: Principal) -> dict[str, dict[str, Any]]:
    """The runs to export, each one the caller may see and not rejected (404 / 422)."""
    found = {
        d["_id"]: d
        async for d in readmodel.runs(res).find(
            {"_id": {"$in": runs}},
            {"status": 1, "deleted": 1, "reason": 1, "events": 1, **RUN_FIELDS, **signalinfo.RUN_FIELDS},
        )
    }
    for run_id in runs:
        doc = found.get(run_id)
        if doc is None or (doc.get("deleted") and not who.is_admin):
            raise not_found(f"no run {run_id!r}")
        if doc.get("status") == "rejected":
            why = doc.get("reason") or "unreadable"
            raise invalid(
                "runs", f"run {run_id[:12]}… was rejected ({why}): nothing to export", location="body"
            )
    return found


async def _described(
    res: Resources, found: dict[str, dict[str, Any]], runs: list[str], selection: Selection
) -> dict[str, dict[str, SignalInfo]]:
    """What the catalogue says of each exported signal, per run (the converter writes it into
    the files; protobuf enum names it reads from the run itself)."""
    keys: dict[str, list[str]] = {r: [] for r in runs}
    stats = readmodel.signals(res).find({"run_id": {"$in": runs}}, {"_id": 0, "run_id": 1, "key": 1, "topic": 1,
                                                                    "path": 1})
    async for s in stats:
        if selection.wants_signal(s.get("topic", ""), s.get("path", "")):
            keys[s["run_id"]].append(s["key"])
    out: dict[str, dict[str, SignalInfo]] = {}
    for run_id in runs:
        info = await signalinfo.for_run(res, found[run_id], keys[run_id])
        if info:
            out[run_id] = info
    return out


def _event_window(run: RunDoc, event_id: str) -> tuple[float, float]:
    for e in run.get("events") or []:
        if e.get("id") == event_id:
            return float(e["start_s"]), float(e["end_s"])
    raise invalid(
        "event", f"run {run['_id'][:12]}… has no event {event_id!r}", location="body", value=event_id
    )


async def request_export(res: Resources, body: ExportRequest, who: Principal) -> ExportAccepted:
    """Check the request (topic regex, runs, event, selection against the runs' signals),
    name its files and publish it; the converter picks it up."""
    if body.topics is not None:
        try:
            re.compile(body.topics)
        except re.error as exc:
            raise rule(
                "topics", f"not a regular expression: {exc}", location="body", value=body.topics
            ) from None
    catalogue = await signalinfo.current(res)
    aliases = catalogue.aliases(body.signals)
    # A renamed signal is asked for under all its names: each run has one of them.
    signals = list(dict.fromkeys([*body.signals, *(a for names in aliases.values() for a in names)]))
    selection = Selection(topics=body.topics, signals=tuple(signals))
    runs = list(dict.fromkeys(body.runs))
    found = await _runs(res, runs, who)
    start, end = body.start, body.end
    if body.event is not None:
        start, end = _event_window(cast("RunDoc", found[runs[0]]), body.event)
    names = await export_names(res, [found[r] for r in runs], selection, start, end, body.resample_hz, aliases)
    job_id = jobids.new_job_id()
    described = await _described(res, found, runs, selection) if not catalogue.empty else {}
    event = ConversionRequested(
        **{**body.spec_fields(), "runs": runs, "signals": signals},  # the spec as asked, each run once
        job_id=job_id,
        start_s=start,
        end_s=end,
        run_event=body.event,
        requested_by=who.name,
        filenames={r: found[r].get("filename") or r for r in runs},
        download_name=names.download,
        run_names=names.runs,
        catalogue=described,
        aliases=aliases,
    )
    await publish(res, event)
    return ExportAccepted(
        id=job_id, status_url=f"/api/v1/exports/{job_id}",
        events_url=f"/api/v1/exports/{job_id}/events", start=start, end=end, event=body.event,
    )


def _filename(key: str | None) -> str | None:
    return PurePosixPath(key).name if key else None


async def status(res: Resources, job_id: str) -> ExportStatus:
    """The job as ingest recorded it; `queued` for a fresh id not recorded yet, else 404."""
    if not jobids.is_job_id(job_id):
        raise not_found(f"no export {job_id!r}")
    doc = cast("JobDoc | None", await readmodel.jobs(res).find_one({"_id": job_id}, {"request": 0}))
    if doc is None:
        if jobids.recently_issued(job_id):
            return ExportStatus(id=job_id, status="queued", progress=0.0, stage="queued")
        raise not_found(f"no export {job_id!r}")
    state = doc.get("status", "queued")
    key = doc.get("result_key") if state == "done" else None
    filename = _filename(key)
    bucket = res.settings.bucket_exports
    return ExportStatus(
        id=job_id,
        status=state if state in ("queued", "running", "done", "failed") else "queued",
        progress=min(1.0, max(0.0, float(doc.get("progress") or 0.0))),
        stage=doc.get("stage"),
        reason=doc.get("error") if state == "failed" else None,
        download_url=res.store.presigned_get(bucket, key, filename=filename) if key else None,
        file_url=f"/api/v1/exports/{job_id}/file" if key else None,
        filename=filename,
        size=doc.get("size") if key else None,
        cached=doc.get("cached") if key else None,
        created_at=doc.get("created_at"),
        updated_at=doc.get("updated_at"),
        finished_at=doc.get("finished_at"),
    )


async def progress(
    res: Resources, first: ExportStatus, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[dict[str, str]]:
    """Server-sent events: `progress` on each change, then `done` or `failed`; polls the
    job every POLL_S until it ends, the client leaves or EVENTS_MAX_S pass."""
    current = first
    last: tuple[Any, ...] | None = None
    deadline = time.monotonic() + EVENTS_MAX_S
    while True:
        marker = (current.status, current.progress, current.stage)
        if marker != last:
            last = marker
            name = current.status if current.status in TERMINAL else "progress"
            yield {"event": name, "data": json.dumps(current.model_dump(mode="json"))}
        if current.status in TERMINAL or time.monotonic() > deadline or await disconnected():
            return
        await asyncio.sleep(POLL_S)
        try:
            current = await status(res, current.id)
        except Exception as exc:  # e.g. the job vanished after its grace: say so and stop
            yield {"event": "error", "data": json.dumps({"detail": str(getattr(exc, "detail", exc))})}
            return


async def result(res: Resources, job_id: str) -> tuple[str, str]:
    """(object key, file name) of a finished export; 404 while it has none."""
    st = await status(res, job_id)
    doc = cast("JobDoc | None", await readmodel.jobs(res).find_one({"_id": job_id}, {"result_key": 1}))
    key = doc.get("result_key") if doc else None
    if st.status != "done" or not key:
        raise not_found(f"export {job_id!r} has no file (status {st.status})")
    return key, _filename(key) or "export"
