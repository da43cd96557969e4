"""Every event on the bus, one versioned pydantic model each.

The routing key of an event is its name. Consumers validate with `parse_event`, so a
malformed message is rejected with the validation error as its dead-letter reason.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from pitwall.common.apitokens import Role
from pitwall.common.contracts.signalinfo import SignalInfo
from pitwall.common.exportspec import ExportSpec


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str]
    schema_version: int = 1
    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = Field(default_factory=_now)


Source = Literal["basestation", "web", "cli", "api", "sample"]


class FileUploaded(Event):
    name: ClassVar[str] = "file.uploaded"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    object_key: str
    size: int = Field(ge=0)
    filename: str
    source: Source = "cli"
    source_id: str | None = None  # base station id, token name...
    uploader: str | None = None
    received_at: datetime = Field(default_factory=_now)


class RunIngested(Event):
    name: ClassVar[str] = "run.ingested"
    run_id: str
    status: Literal["ready", "recovered"]
    message_count: int
    start_ns: int | None = None
    end_ns: int | None = None
    # Which upload this answers, so a base station can match it to its file.
    upload_event_id: str | None = None
    filename: str | None = None
    duplicate: bool = False


class RunRejected(Event):
    name: ClassVar[str] = "run.rejected"
    run_id: str
    reason: str
    upload_event_id: str | None = None
    filename: str | None = None
    duplicate: bool = False


class ConversionRequested(Event, ExportSpec):
    """What to export (the spec: runs are SHA-256 ids of the MCAP) with the window the API
    resolved and the names it chose."""

    name: ClassVar[str] = "conversion.requested"
    job_id: str
    start_s: float | None = None
    end_s: float | None = None
    # The run event whose window start_s/end_s are (an export cut to an event).
    run_event: str | None = None
    requested_by: str | None = None
    # Original file names by run id (the source named in each export's meta).
    filenames: dict[str, str] = Field(default_factory=dict)
    # Download names without suffix, made by query_api (pitwall.common.exportnames): the
    # export's file, and each run's file inside a zip of several. Without them (a request
    # made by hand) the converter names files after `filenames`.
    download_name: str | None = None
    run_names: dict[str, str] = Field(default_factory=dict)
    # What each signal is (unit, description, states), resolved by query_api from the
    # channel catalogue for each run: run id -> signal key -> info. Written into the export
    # (MAT signal_map, Parquet field metadata, CSV signals.csv) and part of its cache key.
    catalogue: dict[str, dict[str, SignalInfo]] = Field(default_factory=dict)
    # Other names of a signal key (declared renames across CAN description versions): a
    # requested key also selects the run's signal under any of these names.
    aliases: dict[str, list[str]] = Field(default_factory=dict)


class ConversionProgress(Event):
    name: ClassVar[str] = "conversion.progress"
    job_id: str
    progress: float = Field(ge=0.0, le=1.0)
    stage: str = ""


class ConversionCompleted(Event):
    name: ClassVar[str] = "conversion.completed"
    job_id: str
    result_key: str
    size: int
    cached: bool = False
    summary: dict[str, Any] = Field(default_factory=dict)


class ConversionFailed(Event):
    name: ClassVar[str] = "conversion.failed"
    job_id: str
    reason: str


class BackupDue(Event):
    name: ClassVar[str] = "backup.due"
    kind: Literal["full", "incremental"] = "incremental"
    # The schedule slot this is for ("2026-12-06T03:00Z"), or "now-<id>" on demand: the
    # backup id, so two schedulers publishing one slot still make one backup.
    slot: str | None = None
    with_signals: bool = False

    @classmethod
    def on_demand(cls, with_signals: bool = False) -> BackupDue:
        """A backup asked for now (`pitwall backup now`, the page's button): a fresh
        "now-<id>" slot, so it is a backup of its own whoever else asks at the same time."""
        backup_id = f"now-{uuid.uuid4().hex[:16]}"
        return cls(event_id=f"backup.due.{backup_id}", slot=backup_id, with_signals=with_signals)


class BackupCompleted(Event):
    name: ClassVar[str] = "backup.completed"
    backup_id: str
    manifest_key: str
    objects: int
    bytes: int
    runs: int = 0
    documents: int = 0
    objects_copied: int = 0
    bytes_copied: int = 0
    seconds: float = 0.0
    # The restore drill after the backup: "passed", "failed: <why>", or None (not run).
    drill: str | None = None
    drill_seconds: float | None = None


class BackupFailed(Event):
    name: ClassVar[str] = "backup.failed"
    backup_id: str
    reason: str
    seconds: float = 0.0


STATION_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# Counts are stored in MongoDB (ingest keeps the latest status per station): int64.
INT64_MAX = 2**63 - 1


class StationSource(BaseModel):
    """One place a base station takes logs from (a car over SFTP, a watched folder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_id: str = Field(pattern=STATION_ID)
    kind: Literal["sftp", "directory"]
    reachable: bool
    pending: int = Field(default=0, ge=0, le=INT64_MAX, description="finished files on the source not yet copied")
    last_error: str | None = Field(default=None, max_length=500)


class StationStatus(Event):
    """A base station's heartbeat: what it holds and what is stuck (for the web page)."""

    name: ClassVar[str] = "station.status"
    station_id: str = Field(pattern=STATION_ID)
    hostname: str = Field(default="", max_length=255)
    version: str = Field(default="", max_length=64)
    interval_s: float = Field(gt=0, le=86400)
    cloud_reachable: bool = True
    sources: list[StationSource] = Field(default_factory=list, max_length=64)
    # File versions by journal state (seen, copied, uploaded, confirmed, rejected, ...).
    states: dict[str, int] = Field(default_factory=dict)
    pending_on_car: int = Field(default=0, strict=True, ge=0, le=INT64_MAX)
    on_station: int = Field(default=0, strict=True, ge=0, le=INT64_MAX,
                            description="copied to the station, not uploaded yet")
    uploading: int = Field(default=0, strict=True, ge=0, le=INT64_MAX)
    awaiting_confirmation: int = Field(default=0, strict=True, ge=0, le=INT64_MAX)
    bytes_to_upload: int = Field(default=0, strict=True, ge=0, le=INT64_MAX)
    failing: int = Field(default=0, strict=True, ge=0, le=INT64_MAX, description="files whose last attempt failed")
    last_error: str | None = Field(default=None, max_length=500)
    last_error_at: datetime | None = None
    reported_by: str | None = None  # the token the status came with


class RunCommand(Event):
    """A change to a run asked for by query_api and carried out by ingest (the DB owner)."""

    name: ClassVar[str] = "run.command"
    run_id: str
    # add_event: `changes` is a RunEvent (pitwall.common.runevents); remove_event: {"id": ...}.
    action: Literal["update", "delete", "restore", "add_event", "remove_event"]
    changes: dict[str, Any] = Field(default_factory=dict)
    actor: str | None = None


class TokenCommand(Event):
    """An API token made or revoked by an admin in the web page; ingest (the owner of
    `tokens`) carries it out. Only the token's hash travels: the secret was shown to
    the admin once and is stored nowhere."""

    name: ClassVar[str] = "token.command"
    action: Literal["create", "revoke"]
    token_id: str = Field(pattern=r"^[0-9a-f]{8}$")
    # create only
    hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    role: Role | None = None
    token_name: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = None
    actor: str | None = None


class CatalogueCommand(Event):
    """A change to the channel catalogue asked for by query_api, carried out by ingest.

    add_source: `source` is a parsed CAN description (`pitwall.common.catalogue.store`'s
    document form) and `source_id` its id; delete_source: `source_id`; edit: `key` and
    `changes` (unit, description, display_name, states, renamed_to; None clears a field).
    """

    name: ClassVar[str] = "catalogue.command"
    action: Literal["add_source", "delete_source", "edit"]
    source_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    source: dict[str, Any] | None = None
    key: str | None = Field(default=None, min_length=3, max_length=500)
    changes: dict[str, Any] = Field(default_factory=dict)
    actor: str | None = None


class MathCommand(Event):
    """A math channel defined, changed or deleted (query_api checked the expression; ingest,
    the owner of `math_channels`, checks it again and stores it, versioned and audited)."""

    name: ClassVar[str] = "math.command"
    action: Literal["create", "update", "delete"]
    channel: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
    expression: str | None = Field(default=None, max_length=2000)
    unit: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=2000)
    actor: str | None = None


class TokensUsed(Event):
    """When tokens were last used: query_api reports the tokens it saw, in batches."""

    name: ClassVar[str] = "token.used"
    last_used: dict[str, datetime] = Field(max_length=10_000)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (
        FileUploaded,
        RunIngested,
        RunRejected,
        ConversionRequested,
        ConversionProgress,
        ConversionCompleted,
        ConversionFailed,
        BackupDue,
        BackupCompleted,
        BackupFailed,
        RunCommand,
        StationStatus,
        TokenCommand,
        TokensUsed,
        CatalogueCommand,
        MathCommand,
    )
}


class UnknownEvent(ValueError):
    pass


def parse_event(routing_key: str, body: bytes) -> Event:
    """Validate a message body against the model named by its routing key."""
    cls = EVENT_TYPES.get(routing_key)
    if cls is None:
        raise UnknownEvent(f"no event named {routing_key!r}")
    return cls.model_validate_json(body)
