"""Events on runs: list, mark a range, remove one. Ingest (the database's owner) applies
the changes from `run.command`s, so writes answer 202 and show within moments."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from pitwall.common.events import RunCommand
from pitwall.common.runevents import EVENT_ID, RunEvent
from pitwall.query_api.auth import Editor, Reader
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH, INVALID, NOT_FOUND, UNAVAILABLE, invalid, not_found
from pitwall.query_api.models import EventAccepted, EventCreate, EventList, EventView, finite
from pitwall.query_api.publishing import publish
from pitwall.query_api.routers.runs import find_run

router = APIRouter(prefix="/api/v1", tags=["events"], responses=AUTH)
Res = Annotated[Resources, Depends(resources)]
# Float noise of a range dragged to the very end of the plot.
_EDGE_S = 1e-6


def _views(doc: dict[str, Any]) -> list[EventView]:
    events = sorted(doc.get("events") or [], key=lambda e: (e.get("start_s", 0.0), e.get("end_s", 0.0)))
    return [EventView.model_validate(finite(e)) for e in events]


@router.get("/runs/{run_id}/events", response_model=EventList, responses=NOT_FOUND, summary="A run's events")
async def list_events(run_id: str, res: Res, who: Reader) -> EventList:
    """Marked ranges of the run, by people (`source: user`) and by ingest's rules (`rule`)."""
    doc = await find_run(res, run_id, who, {"events": 1, "duration_s": 1})
    return EventList(run_id=run_id, duration_s=doc.get("duration_s"), events=_views(doc))


@router.post(
    "/runs/{run_id}/events", response_model=EventAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE}, summary="Mark a range of a run",
)
async def create_event(run_id: str, body: EventCreate, res: Res, who: Editor) -> EventAccepted:
    """Asks ingest to add the event; it is listed within moments (202 with its id)."""
    doc = await find_run(res, run_id, who, {"status": 1, "duration_s": 1})
    if doc.get("status") == "rejected":
        raise invalid("run_id", "a rejected run has no data to mark", location="path", value=run_id)
    duration = float(doc.get("duration_s") or 0.0)
    if body.end_s > duration + _EDGE_S:
        raise invalid("end_s", f"after the run's end ({duration:.3f} s)", location="body", value=body.end_s)
    event = RunEvent(kind=body.kind, start_s=body.start_s, end_s=body.end_s, note=body.note, source="user", created_by=who.name)
    cmd = RunCommand(run_id=run_id, action="add_event", changes=event.model_dump(mode="json"), actor=who.name)
    await publish(res, cmd)
    return EventAccepted(command_id=cmd.event_id, run_id=run_id, action="add_event", event_id=event.id)


@router.delete(
    "/runs/{run_id}/events/{event_id}", response_model=EventAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **UNAVAILABLE}, summary="Remove an event",
)
async def delete_event(run_id: str, event_id: str, res: Res, who: Editor) -> EventAccepted:
    """Asks ingest to remove the event (the run's history keeps what it was)."""
    doc = await find_run(res, run_id, who, {"events": 1})
    if not re.match(EVENT_ID, event_id) or not any(e.get("id") == event_id for e in doc.get("events") or []):
        raise not_found(f"run {run_id[:12]}… has no event {event_id!r}")
    cmd = RunCommand(run_id=run_id, action="remove_event", changes={"id": event_id}, actor=who.name)
    await publish(res, cmd)
    return EventAccepted(command_id=cmd.event_id, run_id=run_id, action="remove_event", event_id=event_id)
