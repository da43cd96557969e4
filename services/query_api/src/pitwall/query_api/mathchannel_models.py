"""Math channels' API shapes: a definition in, the parsed form and the stored channel out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pitwall.query_api.catalogue_models import HistoryEntry

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,62}$"
ChannelName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]


class MathDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="the README's language, e.g. `[brakes:front] / ([brakes:front] + [brakes:rear])`")
    unit: Annotated[str, StringConstraints(max_length=64, strip_whitespace=True)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True)] | None = None


class MathCreate(MathDefinition):
    name: ChannelName = Field(description="a MATLAB identifier; the channel's key is `math:<name>`")


class MathParsed(BaseModel):
    name: str
    key: str = Field(description="`math:<name>`: what /series, exports and where-queries take")
    expression: str
    canonical: str = Field(description="the expression as the parser read it (parenthesised, spaced)")
    references: list[str] = Field(description="signal keys it reads, `math:` channels included")
    functions: list[str]
    unit: str | None = None
    description: str | None = None


class MathAccepted(MathParsed):
    command_id: str = Field(description="ingest stores the change within moments of this answer")


class MathHistory(HistoryEntry):
    action: str


class MathChannel(MathParsed):
    version: int
    created_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    history: list[MathHistory] | None = None


class MathList(BaseModel):
    items: list[MathChannel]


class MathDeleted(BaseModel):
    name: str
    command_id: str
