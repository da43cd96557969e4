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
from typing import Any

from pitwall.common.runevents import event_tokens

COLLECTION = "run_summaries"

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
# The run document's fields a summary is made of (for reading just those).
SOURCE_PROJECTION: dict[str, int] = dict.fromkeys((*FIELDS, "events"), 1)


def run_summary(run: Mapping[str, Any]) -> dict[str, Any]:
    """The summary of a run document; a field the run lacks is left out, not nulled,
    so a list item reads the same from the summary as it did from the run."""
    out: dict[str, Any] = {"_id": run["_id"]}
    for name in FIELDS:
        if name in run:
            out[name] = run[name]
    if run.get("events"):
        out[EVENT_TOKENS] = event_tokens(run["events"])
    return out
