"""The catalogue database's collection names.

Ingest owns and writes the collections below (indexes in `pitwall.ingest.repository`);
query_api reads them; the backup service dumps all of them and owns `BACKUPS`.
"""

from __future__ import annotations

from typing import Final

RUNS: Final = "runs"
# The slim copy of each run that lists and facets read (see pitwall.common.summaries).
RUN_SUMMARIES: Final = "run_summaries"
# One document per (run, signal) with its statistics, for where-queries.
SIGNALS: Final = "signals"
# Export jobs, from the conversion.* events.
JOBS: Final = "jobs"
# Events written in the same step as the change they announce, published after it.
OUTBOX: Final = "outbox"
# Idempotency keys of handled messages.
PROCESSED: Final = "processed"
# API tokens (only hashes).
TOKENS: Final = "tokens"
# The latest station.status per base station (`_id` = station_id).
STATIONS: Final = "stations"
# The channel catalogue: CAN descriptions loaded (one document each, parsed, versioned),
# edits per signal key (with renames and their history), and its state (`_id`
# "generation": a counter bumped by every change, so readers know when to reload).
CATALOGUE_SOURCES: Final = "catalogue_sources"
CATALOGUE_EDITS: Final = "catalogue_edits"
CATALOGUE_STATE: Final = "catalogue_state"
# Math channels: one document per channel (`_id` = its name), versioned, with its history.
MATH_CHANNELS: Final = "math_channels"
# The backup service's record of each backup it made or tried.
BACKUPS: Final = "backups"

ALL: Final = (
    RUNS, RUN_SUMMARIES, SIGNALS, JOBS, OUTBOX, PROCESSED, TOKENS, STATIONS,
    CATALOGUE_SOURCES, CATALOGUE_EDITS, CATALOGUE_STATE, MATH_CHANNELS, BACKUPS,
)
