"""Events on runs: list, mark a range, remove one. Ingest (the database's owner) applies
the changes from `run.command`s, so writes answer 202 and show within moments."""

from __future__ import annotations

from fastapi import APIRouter, status

from pitwall.query_api.deps import Editor, Reader, Res
from pitwall.query_api.domain import events
from pitwall.query_api.errors import AUTH, INVALID, NOT_FOUND, UNAVAILABLE
from pitwall.query_api.models import EventAccepted, EventCreate, EventList

router = APIRouter(prefix="/api/v1", tags=["events"], responses=AUTH)


@router.get("/runs/{run_id}/events", response_model=EventList, responses=NOT_FOUND, summary="A run's events")
async def list_events(run_id: str, res: Res, who: Reader) -> EventList:
    """Marked ranges of the run, by people (`source: user`) and by ingest's rules (`rule`)."""
    return await events.list_events(res, run_id, who)


@router.post(
    "/runs/{run_id}/events", response_model=EventAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE}, summary="Mark a range of a run",
)
async def create_event(run_id: str, body: EventCreate, res: Res, who: Editor) -> EventAccepted:
    """Asks ingest to add the event; it is listed within moments (202 with its id)."""
    return await events.add_event(res, run_id, body, who)


@router.delete(
    "/runs/{run_id}/events/{event_id}", response_model=EventAccepted, status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **UNAVAILABLE}, summary="Remove an event",
)
async def delete_event(run_id: str, event_id: str, res: Res, who: Editor) -> EventAccepted:
    """Asks ingest to remove the event (the run's history keeps what it was)."""
    return await events.remove_event(res, run_id, event_id, who)
