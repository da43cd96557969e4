"""The channel catalogue's API shapes: sources, edits, the searchable signal list."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator

KEY_PATTERN = r"^[^:\s][^:]*:.+$"
SignalKey = Annotated[str, StringConstraints(pattern=KEY_PATTERN, min_length=3, max_length=500)]
_CODE = re.compile(r"^-?\d{1,19}$")
StateName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# Integer code (decimal string) -> name; the schema says so exactly (no other keys), so a
# client generated from it never sends a key the API refuses.
StateMap = Annotated[
    dict[Annotated[str, StringConstraints(pattern=_CODE.pattern)], StateName],
    WithJsonSchema({
        "type": "object", "patternProperties": {_CODE.pattern: {"type": "string", "minLength": 1, "maxLength": 200}},
        "additionalProperties": False, "maxProperties": 4096,
    }),
]


class SignalFacts(BaseModel):
    """What the channel catalogue says of a signal (every field optional: absent = unknown)."""

    unit: str | None = Field(None, description="physical unit, as the CAN description or an edit writes it")
    description: str | None = None
    display_name: str | None = None
    states: dict[str, str] | None = Field(None, description="integer code (decimal string) -> state name")
    origins: dict[str, str] | None = Field(
        None, description="where each field came from: `can:<source>#<version>`, `schema` or `edit`")


class SourceView(BaseModel):
    id: str
    name: str = Field(description="the uploaded file's name")
    format: str = Field(description="sym, dbc, kcd or arxml")
    valid_from: date | None = Field(None, description="first recording day it applies to; null: always")
    version: int | None = Field(None, description="upload order: of two sources of one date the later wins")
    messages: int
    signals: int
    uploaded_at: datetime | None = None
    uploaded_by: str | None = None
    deleted: bool = False
    deleted_at: datetime | None = None


class SourceList(BaseModel):
    items: list[SourceView]


class SourceAdded(SourceView):
    matched: int = Field(description="signal keys of existing runs this source names")
    changed_keys: list[str] = Field(
        default_factory=list,
        description="keys whose unit, description or states this upload changes against a source of the same date",
    )
    command_id: str = Field(description="ingest stores the source within moments of this answer")


class SourceDeleted(BaseModel):
    id: str
    command_id: str


class CatalogueEdit(BaseModel):
    """Fields to set on a key; a field sent as null clears it, a field left out is kept."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    unit: Annotated[str, StringConstraints(max_length=64, strip_whitespace=True)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True)] | None = None
    display_name: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] | None = None
    states: StateMap | None = Field(None, max_length=4096, description="integer code (decimal string) -> state name")
    renamed_to: SignalKey | None = Field(
        None, description="this key was renamed to that one (a later CAN description): either name finds the signal")

    @field_validator("states")
    @classmethod
    def _integer_codes(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        bad = [k for k in v if not _CODE.match(k.strip())]
        if bad:
            raise ValueError(f"state codes must be integers, got {', '.join(repr(b) for b in bad[:3])}")
        return {str(int(k)): name for k, name in sorted(v.items(), key=lambda kv: int(kv[0]))}

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class EditAccepted(BaseModel):
    command_id: str
    key: str
    changes: dict[str, Any]


class HistoryEntry(BaseModel):
    actor: str | None = None
    at: datetime | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    before: dict[str, Any] = Field(default_factory=dict)


class CatalogueSignal(SignalFacts):
    key: str
    runs: int | None = Field(None, description="runs that have this signal (under any of its names)")
    renamed_to: str | None = None
    aliases: list[str] = Field(default_factory=list, description="other names of this signal (renames)")
    history: list[HistoryEntry] | None = Field(None, description="edits of this key, oldest first")


class CatalogueSearch(BaseModel):
    q: str | None
    items: list[CatalogueSignal]
    truncated: bool = False


class Rename(BaseModel):
    old: str
    new: str


class RenameList(BaseModel):
    items: list[Rename]
