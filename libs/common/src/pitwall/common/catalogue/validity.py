"""Which CAN description applies to a run: the car's description changes between seasons."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from pitwall.common.catalogue.model import CanSource


def _day(when: datetime | date) -> date:
    if isinstance(when, datetime):
        # A naive datetime is taken as UTC, like every time pitwall stores.
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).date()
    return when


def pick_source(
    sources: Iterable[CanSource], recorded_start: datetime | date | None
) -> CanSource | None:
    """The latest source whose `valid_from` is not after the run's recording start.

    An undated source is always valid and counts as the oldest. Of two sources of the same
    date the later upload (higher `version`, then later in `sources`) wins. A run whose start
    is unknown takes the newest source. None when no source applies.
    """
    day = None if recorded_start is None else _day(recorded_start)
    best: CanSource | None = None
    best_key: tuple[date, int, int] | None = None
    for position, src in enumerate(sources):
        if day is not None and src.valid_from is not None and src.valid_from > day:
            continue
        key = (src.valid_from or date.min, src.version, position)
        if best_key is None or key > best_key:
            best, best_key = src, key
    return best
