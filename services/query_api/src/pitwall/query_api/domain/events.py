"""Events on runs: listed from the run, added and removed through `run.command`s that
ingest (the database's owner) applies, so writes are accepted (202) and show within moments."""

from __future__ import annotations

import re
from typing import Any

from pitwall.common.events import RunCommand
from pitwall.common.runevents import EVENT_ID, RunEvent
from pitwall.query_api.auth import Principal
from pitwall.query_api.domain.runs import find_run
from pitwall.query_api.errors import invalid, not_found, rule
from pitwall.query_api.models import EventAccepted, EventCreate, EventList, EventView, finite
from pitwall.query_api.publishing import publish
from pitwall.query_api.resources import Resources

# Float noise of a range dragged to the very end of the plot.
_EDGE_S = 1e-6


def _views(events: list[dict[str, Any]]) -> list[EventView]:
    ordered = sorted(events, key=lambda e: (e.get("start_s", 0.0), e.get("end_s", 0.0)))
    return [EventView.model_validate(finite(e)) for e in ordered]


async def list_events(res: Resources, run_id: str, who: Principal) -> EventList:
    doc = await find_run(res, run_id, who, {"events": 1, "duration_s": 1})
    return EventList(run_id=run_id, duration_s=doc.get("duration_s"), events=_views(doc.get("events") or []))


async def add_event(res: Resources, run_id: str, body: EventCreate, who: Principal) -> EventAccepted:
    """A user's event within the run (422 past its end, or on a rejected run)."""
    doc = await find_run(res, run_id, who, {"status": 1, "duration_s": 1})
    if doc.get("status") == "rejected":
        raise invalid("run_id", "a rejected run has no data to mark", location="path", value=run_id)
    duration = float(doc.get("duration_s") or 0.0)
    if body.end_s > duration + _EDGE_S:
        raise rule("end_s", f"after the run's end ({duration:.3f} s)", location="body", value=body.end_s)
    event = RunEvent(kind=body.kind, start_s=body.start_s, end_s=body.end_s, note=body.note,
                     source="user", created_by=who.name)
    cmd = RunCommand(run_id=run_id, action="add_event", changes=event.model_dump(mode="json"),
                     actor=who.name)
    await publish(res, cmd)
    return EventAccepted(command_id=cmd.event_id, run_id=run_id, action="add_event", event_id=event.id)


async def remove_event(res: Resources, run_id: str, event_id: str, who: Principal) -> EventAccepted:
    doc = await find_run(res, run_id, who, {"events": 1})
    known = any(e.get("id") == event_id for e in doc.get("events") or [])
    if not re.match(EVENT_ID, event_id) or not known:
        raise not_found(f"run {run_id[:12]}… has no event {event_id!r}")
    cmd = RunCommand(run_id=run_id, action="remove_event", changes={"id": event_id}, actor=who.name)
    await publish(res, cmd)
    return EventAccepted(command_id=cmd.event_id, run_id=run_id, action="remove_event", event_id=event_id)
