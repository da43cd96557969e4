"""What the catalogue knows, as plain values: no cantools types leak past `loading`.

Plain frozen dataclasses so a source can be stored (MongoDB, events) and compared without the
parser, and so a catalogue entry says where each fact came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class CanSignal:
    name: str
    unit: str | None
    description: str | None
    factor: float
    offset: float
    # Integer code -> state name, from the signal's enum (empty when the signal has none).
    states: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CanMessage:
    name: str
    frame_id: int
    description: str | None
    signals: tuple[CanSignal, ...]


@dataclass(frozen=True, slots=True)
class CanSource:
    """One uploaded CAN description (SYM, DBC, KCD or ARXML)."""

    name: str  # the uploaded file's name
    format: str  # cantools' name for it: sym, dbc, kcd, arxml
    messages: tuple[CanMessage, ...]
    # First day the description applies to; None: always (an undated source is the oldest).
    valid_from: date | None = None
    # Upload order, assigned by whoever stores sources: of two sources of the same date the
    # later upload wins.
    version: int = 0

    @property
    def message_count(self) -> int:
        return len(self.messages)

    @property
    def signal_count(self) -> int:
        return sum(len(m.signals) for m in self.messages)


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a catalogue fact came from: enough to name the source in the API and UI."""

    name: str
    version: int
    valid_from: date | None


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What the catalogue says about one signal key (`topic:path`)."""

    unit: str | None
    description: str | None
    display_name: str | None
    states: dict[int, str]
    source: SourceRef
