"""Events on runs: a marked time range of a run ("lockup T3", "BMS fault").

One model for what an engineer marks on the plot or the API and what ingest's rules
find in the data, stored in the run document's `events` array (ingest writes it; query
_api asks for changes with a `run.command`). Times are seconds since the run's origin,
the time base of the series endpoint and of exports.

Search: `run_summaries` carries `event_tokens`, the lower-case words of every event's
kind and note and their prefixes, so `GET /runs?event=lock` finds a "lockup" with one
index lookup per word (the server has no text index; see `event_tokens`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pitwall.common.contracts.searchwords import prefixes, words

KIND_MAX = 40
NOTE_MAX = 500
EVENT_ID = r"^[0-9a-f]{32}$"


def new_event_id() -> str:
    return uuid.uuid4().hex


class RunEvent(BaseModel):
    """One marked range of a run, as stored in `runs.events`."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=new_event_id, pattern=EVENT_ID)
    kind: str = Field(min_length=1, max_length=KIND_MAX)
    start_s: float
    end_s: float
    note: str = Field(default="", max_length=NOTE_MAX)
    source: Literal["user", "rule"] = "user"
    rule: str | None = None  # the rule that made it (source "rule")
    created_by: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def doc(self) -> dict[str, Any]:
        """What goes into MongoDB (datetimes stay datetimes)."""
        return self.model_dump()


def event_tokens(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The search tokens of a run's events: each word of a kind or note and its prefixes."""
    return prefixes(w for event in events for w in words(f"{event.get('kind') or ''} {event.get('note') or ''}"))
