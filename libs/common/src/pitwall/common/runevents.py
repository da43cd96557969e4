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

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KIND_MAX = 40
NOTE_MAX = 500
EVENT_ID = r"^[0-9a-f]{32}$"
# Word prefixes shorter than this are not indexed (nor searchable): "l" would match half a season.
PREFIX_MIN = 2


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


def words(text: str, shortest: int = PREFIX_MIN) -> list[str]:
    """Lower-case words, cut like every free-text search of the project cuts them
    (`shortest=1` keeps single letters and digits, for matching names such as "lot 5")."""
    return [w for w in re.split(r"[^0-9a-z]+", text.lower()) if len(w) >= shortest]


def prefixes(found: Iterable[str]) -> list[str]:
    """Each word and its starts of at least PREFIX_MIN characters: stored beside a
    document, they let an equality on one index find a word from its first letters."""
    out: set[str] = set()
    for word in found:
        out.update(word[:n] for n in range(PREFIX_MIN, len(word) + 1))
    return sorted(out)


def event_tokens(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The search tokens of a run's events: each word of a kind or note and its prefixes."""
    return prefixes(w for event in events for w in words(f"{event.get('kind') or ''} {event.get('note') or ''}"))
