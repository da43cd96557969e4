"""The slim per-run summary that run lists read (`run_summaries`, written by ingest only).

A run document carries its channels, track points, laps, signal keys, uploads and
history: tens of kilobytes. A list page needs a few hundred bytes of each run, and a
server that fetches whole documents before projecting them (every MongoDB does; the
local SecantusDB also decodes each one in Python) pays for the rest. So ingest keeps,
beside every run, a summary with exactly what a list item shows and what the list
filters and facets match on; query_api's list and facets read only these.

The summary is a pure function of the run document, so it can always be rebuilt from
it: ingest's start-up backfill and the backup's dump both derive it with `run_summary`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pitwall.common.runevents import event_tokens, prefixes

# What a list item shows (query_api's `RunSummary`, less `id`).
LIST_FIELDS = (
    "filename", "status", "reason", "start_time", "end_time", "start_ns", "end_ns",
    "duration_s", "size", "message_count", "setup", "tags", "notes", "lap_count",
    "best_lap_s", "distance_m", "top_speed_mps", "deleted", "ingested_at", "updated_at",
)
# What list filters match on besides those: topics (has_topic) and the free-text tokens.
# Signal keys (hundreds a run) stay out: `has_signal` is answered by `signals`.
FILTER_FIELDS = ("topics", "search")
FIELDS = LIST_FIELDS + FILTER_FIELDS
# Derived, not copied: the search tokens of the run's `events` (`?event=`).
EVENT_TOKENS = "event_tokens"
# Derived: when the cloud catalogued the run (`ingested_at`) as integer nanoseconds, never
# null, so the "uploaded" order is one plain index range whatever the file's own clock said.
UPLOADED_NS = "uploaded_ns"
# Which code made a summary: bump it when `run_summary` derives something new, and
# ingest's start-up backfill rebuilds every summary made before.
FORMAT = "format"
FORMAT_VERSION = 2
# The run document's fields a summary is made of (for reading just those).
SOURCE_PROJECTION: dict[str, int] = dict.fromkeys((*FIELDS, "events"), 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant_ns(value: Any) -> int | None:
    """A stored instant as integer nanoseconds since 1970 (a naive datetime is UTC)."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    # Milliseconds, as BSON keeps a datetime: the summary of a run document just made
    # (microseconds) and of the same document read back (a restore, the backfill) agree.
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds // 1_000 * 1_000_000


def run_summary(run: Mapping[str, Any]) -> dict[str, Any]:
    """The summary of a run document; a field the run lacks is left out, not nulled,
    so a list item reads the same from the summary as it did from the run.

    `search` holds the run's search words and their starts (`q=endur` finds
    "endurance"), cut like the event tokens."""
    out: dict[str, Any] = {"_id": run["_id"], FORMAT: FORMAT_VERSION}
    for name in FIELDS:
        if name in run:
            out[name] = run[name]
    if run.get("search"):
        out["search"] = prefixes(run["search"])
    if run.get("events"):
        out[EVENT_TOKENS] = event_tokens(run["events"])
    # A run catalogued before `ingested_at` existed sorts by its last change, else as the oldest.
    uploaded = instant_ns(run.get("ingested_at"))
    out[UPLOADED_NS] = uploaded if uploaded is not None else instant_ns(run.get("updated_at")) or 0
    return out
