"""The API's request and response bodies (what /docs shows)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from pitwall.common.apitokens import Role
from pitwall.common.events import STATION_ID, StationSource
from pitwall.common.exportspec import ExportSpec
from pitwall.common.runevents import EVENT_ID, KIND_MAX, NOTE_MAX
from pitwall.query_api.catalogue_models import SignalFacts

RunStatus = Literal["ready", "recovered", "rejected"]
# The type of a validator's error for a rule between fields that the OpenAPI document can
# only describe: the answer's code is then `rule` (errors.error_code), not `invalid`.
RULE = "rule"
MAX_SAFE_INTEGER = 2**53 - 1


def _integral(value: Any) -> Any:
    # JSON Schema's `integer` includes 400.0 (and excludes true and "400"): strict ints
    # below, after a whole float became its int.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _no_number(value: Any) -> Any:
    # pydantic reads a number as a Unix time; the document says `date-time`, a string.
    if isinstance(value, (int, float)):
        raise PydanticCustomError("datetime_type", "expected an ISO 8601 date-time string")
    return value


# An integer in a JSON body, as the document's `integer` says: 400 and 400.0, not true or "400".
JsonInt = Annotated[int, Field(strict=True), BeforeValidator(_integral)]
# `laps` of /compare: `RUN:LAP` items, 2 to 8 (compare.MAX_LAPS), comma-separated; empty
# items and spaces around an item are ignored. (That a lap is named once is a rule.)
_LAP = r"[^, :][^,]*:[0-9]+ *"
LAPS_PATTERN = rf"^[, ]*(?:{_LAP},[, ]*){{1,7}}{_LAP}[, ]*$"
LapPicks = Annotated[str, StringConstraints(pattern=LAPS_PATTERN)]
# What a 422 for a pattern says besides the pattern itself (middleware._hinted).
PATTERN_HINTS: dict[str, str] = {
    LAPS_PATTERN: "give 2 to 8 laps as RUN:LAP, comma-separated, e.g. 3fa1...:2,3fa1...:5",
}
# An item of `signals=` (/series): comma-separated `topic:path` keys, at least one that is
# not blank (Python's whitespace, which str.strip removes, is \s plus \x1c-\x1f).
SignalKeys = Annotated[str, StringConstraints(pattern=r"[^,\s\x1c-\x1f]")]
Scalar = str | float | int | bool | None
ShortText = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]


class Setup(BaseModel):
    model_config = ConfigDict(extra="allow")

    driver: Scalar = None
    track: Scalar = None
    event_type: Scalar = None
    car: Scalar = None
    drivetrain: Scalar = None
    mass: Scalar = None
    wheelbase: Scalar = None
    firmware: Scalar = None
    date: Scalar = None


class RunSummary(BaseModel):
    """A run in a list: everything a results table shows, none of the big fields."""

    id: str
    filename: str | None = None
    status: RunStatus
    reason: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    duration_s: float | None = None
    size: int | None = None
    message_count: int | None = None
    setup: Setup = Field(default_factory=Setup)
    tags: list[str] = Field(default_factory=list)
    notes: str = ""
    lap_count: int | None = None
    best_lap_s: float | None = None
    distance_m: float | None = None
    top_speed_mps: float | None = None
    deleted: bool = False
    ingested_at: datetime | None = None
    updated_at: datetime | None = None


class RunPage(BaseModel):
    items: list[RunSummary]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last page")
    limit: int


class Channel(BaseModel):
    model_config = ConfigDict(extra="allow")

    topic: str
    schema_name: str | None = None
    encoding: str | None = None
    message_count: int = 0
    rate_hz: float | None = None
    first_ns: int | None = None
    last_ns: int | None = None
    signal_count: int | None = None


class Lap(BaseModel):
    model_config = ConfigDict(extra="allow")

    lap: int
    start_s: float
    end_s: float
    time_s: float
    distance_m: float | None = None


class RunDetail(RunSummary):
    """The whole run document except the signal key list (see /signals for those)."""

    model_config = ConfigDict(extra="allow")

    sha256: str | None = None
    object_key: str | None = None
    uploads: list[dict[str, Any]] = Field(default_factory=list)
    recovery: dict[str, Any] | None = None
    skipped: list[dict[str, Any]] = Field(default_factory=list)
    setup_raw: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    channels: list[Channel] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    track: dict[str, Any] | None = None
    laps: list[Lap] = Field(default_factory=list)
    history: list[dict[str, Any]] = Field(default_factory=list)
    deleted_at: datetime | None = None


class SetupPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    driver: ShortText | None = None
    track: ShortText | None = None
    event_type: ShortText | None = None
    car: ShortText | None = None
    drivetrain: ShortText | None = None
    mass: ShortText | None = None
    wheelbase: ShortText | None = None
    firmware: ShortText | None = None
    date: ShortText | None = None


class RunPatch(BaseModel):
    """Only the fields sent are changed; `null` clears a setup field."""

    # At least one field: an empty patch is refused (422), said in the document too.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    setup: SetupPatch | None = None
    notes: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    tags: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]],
        Field(max_length=50),
    ] | None = None


CommandAction = Literal["update", "delete", "restore", "add_event", "remove_event"]


class CommandAccepted(BaseModel):
    command_id: str = Field(description="the run.command event id; ingest applies it within moments")
    run_id: str
    action: CommandAction


class SignalStats(SignalFacts):
    model_config = ConfigDict(extra="allow")

    key: str = Field(description="`topic:path`, what `signals=` and `where=` take")
    topic: str
    path: str
    kind: str
    count: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    width: int | None = Field(None, description="number of elements of a repeated field; address one as `path[i]`")
    distinct: list[Any] | None = None
    distinct_names: list[str] | None = None
    distinct_count: int | None = None


class TopicSignals(BaseModel):
    topic: str
    schema_name: str | None = None
    encoding: str | None = None
    message_count: int | None = None
    rate_hz: float | None = None
    signals: list[SignalStats]


class SignalTree(BaseModel):
    run_id: str
    topics: list[TopicSignals]


class SeriesSignal(SignalFacts):
    key: str = Field(description="as asked (a renamed signal keeps the name it was asked by)")
    stored_key: str | None = Field(None, description="the run's own name of the signal, when it differs from `key`")
    kind: str
    t: list[float] = Field(description="seconds since the run's origin (its first message)")
    v: list[float | None] = Field(description="values; null where the value is not a finite number")
    points_in_window: int = Field(description="samples in the window before decimation")
    decimated: bool
    enum_names: dict[str, str] | None = Field(None, description="the protobuf enum names; `states` supersedes it")


class SeriesResponse(BaseModel):
    run_id: str
    origin_ns: int | None
    start: float | None
    end: float | None
    max_points: int
    signals: list[SeriesSignal]


class TrackResponse(BaseModel):
    run_id: str
    available: bool
    topic: str | None = None
    lat_path: str | None = None
    lon_path: str | None = None
    points: list[list[float]] = Field(default_factory=list, description="[t_s, lat, lon] rows")
    distance_m: float | None = None
    top_speed_mps: float | None = None
    laps: list[Lap] = Field(default_factory=list)


class LapsResponse(BaseModel):
    run_id: str
    lap_count: int
    best_lap_s: float | None
    laps: list[Lap]


class Link(BaseModel):
    url: str
    filename: str
    expires_in_s: int


class UploadAccepted(BaseModel):
    id: str = Field(description="SHA-256 of the file = the run id it becomes")
    duplicate: bool = Field(description="a run or a stored file with this content already existed")
    size: int
    filename: str
    event_id: str


Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# What S3 servers hand out (SeaweedFS `<hex>_<uuid>`, MinIO base64url, AWS base64-ish):
# never a `/`, so it stays one path segment.
UploadId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._~=+-]{1,1024}$")]
UploadFilename = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: Annotated[list[Sha256], Field(min_length=1, max_length=1000)] = Field(
        description="SHA-256 of files (lowercase hex)")


class RunState(BaseModel):
    status: RunStatus
    reason: str | None = Field(None, description="why the file was rejected")
    filenames: list[str] = Field(description="every name the file was uploaded under, first one first")
    deleted: bool = Field(False, description="the run was (soft) deleted: the content is known all the same")


class LookupResponse(BaseModel):
    runs: dict[str, RunState] = Field(description="by SHA-256: the hashes that are runs")
    missing: list[str] = Field(description="the hashes that are not runs (in the order asked)")


class ResumableOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: Sha256
    size: JsonInt = Field(gt=0, description="bytes of the whole file")
    filename: UploadFilename
    upload_id: UploadId | None = Field(None, description="the id a previous open returned (to resume)")


class PartInfo(BaseModel):
    number: int
    size: int


class ResumableState(BaseModel):
    upload_id: str | None = Field(description="send parts here; null when the file is stored already")
    part_size: int = Field(description="bytes of every part but the last")
    parts: list[PartInfo] = Field(description="parts S3 holds already for this upload id (don't send them again)")
    stored: bool = Field(description="the file is stored already: call complete without sending parts")


class ResumableComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upload_id: UploadId | None = Field(None, description="null when the open answered `stored: true`")
    size: JsonInt = Field(gt=0, description="bytes of the whole file")
    filename: UploadFilename
    source_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")] = Field(
        description="where the file comes from, e.g. `<station>/<car>`"
    )
    event_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")] | None = Field(
        None, description="id of the `file.uploaded` announcement; the same id again is dropped by ingest (one run)"
    )


# Counts go into MongoDB (int64) and state names become field names there.
# strict: a JSON true is not a count of 1.
# (The bounds before the validator: after it, pydantic would write them as `ge`/`le` keys.)
# At most 2**53 - 1, not int64's maximum: up to there every integer is also exactly a JSON
# number (a double), so the document's bound means the same to every client and validator.
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_SAFE_INTEGER), BeforeValidator(_integral)]
StateName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class StationFields(BaseModel):
    """What a base station reports: the fields of `pitwall.common.events.StationStatus`
    but those the gateway sets (a test holds the two lists equal)."""

    station_id: str = Field(pattern=STATION_ID)
    hostname: str = Field(default="", max_length=255)
    version: str = Field(default="", max_length=64)
    interval_s: float = Field(gt=0, le=86400, description="seconds between two reports")
    cloud_reachable: bool = Field(default=True, strict=True)
    sources: list[StationSource] = Field(default_factory=list, max_length=64)
    states: dict[str, int] = Field(default_factory=dict, description="file versions by journal state")
    pending_on_car: Count = 0
    on_station: Count = Field(default=0, description="copied to the station, not uploaded yet")
    uploading: Count = 0
    awaiting_confirmation: Count = 0
    bytes_to_upload: Count = 0
    failing: Count = Field(default=0, description="files whose last attempt failed")
    last_error: str | None = Field(default=None, max_length=500)
    # An ISO 8601 string, as the document says, not a number read as Unix time.
    last_error_at: Annotated[datetime, BeforeValidator(_no_number)] | None = None


class ReportedSource(StationSource):
    """A source as the document says it: its count an integer, `reachable` a boolean."""

    reachable: bool = Field(strict=True)
    pending: Count = Field(default=0, description="finished files on the source not yet copied")


class StationReport(StationFields):
    """A `station.status` without what the gateway sets (event id, time, reported_by)."""

    model_config = ConfigDict(extra="forbid")

    # State names become field names in MongoDB: plain words only.
    states: Annotated[dict[StateName, Count], Field(max_length=64)] = Field(
        default_factory=dict, description="file versions by journal state (seen, copied, uploaded, confirmed, ...)",
        json_schema_extra={"additionalProperties": False},  # every key matches the pattern
    )
    # Narrower than the view's on input only (what a station sends is read strictly).
    sources: list[ReportedSource] = Field(default_factory=list, max_length=64)  # type: ignore[assignment]


class StationAccepted(BaseModel):
    event_id: str


class StationView(StationFields):
    model_config = ConfigDict(extra="ignore")

    reported_by: str | None = None
    last_seen: datetime = Field(description="when the gateway received the latest report")
    online: bool = Field(description="the latest report is less than 3 intervals old")


class StationList(BaseModel):
    stations: list[StationView]


# What to export (the spec the event carries) and the window to cut, as asked; the API
# resolves it to the event's `start_s`/`end_s`. (A comment: a docstring would become the
# schema's description in the OpenAPI document.)
class ExportRequest(ExportSpec):
    model_config = ConfigDict(extra="forbid")

    start: Annotated[float, Field(ge=0, le=1e7)] | None = Field(None, description="seconds since the run's origin")
    end: Annotated[float, Field(ge=0, le=1e7)] | None = None
    event: Annotated[str, StringConstraints(pattern=EVENT_ID)] | None = Field(
        None, description="cut to this event's window (one run; instead of start/end)"
    )

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: float | None, info: Any) -> float | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise PydanticCustomError(RULE, "end is before start")
        return end

    @field_validator("event")
    @classmethod
    def _event_is_the_window(cls, event: str | None, info: Any) -> str | None:
        if event is None:
            return event
        if info.data.get("start") is not None or info.data.get("end") is not None:
            raise PydanticCustomError(RULE, "an event sets the window: leave start and end out")
        if len(set(info.data.get("runs") or ())) > 1:
            raise PydanticCustomError(RULE, "an event belongs to one run: export one run to cut it to an event")
        return event


class ExportAccepted(BaseModel):
    id: str
    status_url: str
    events_url: str
    start: float | None = Field(None, description="the window exported (seconds since the run's origin)")
    end: float | None = None
    event: str | None = Field(None, description="the event whose window it is")


class ExportStatus(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    stage: str | None = None
    reason: str | None = None
    download_url: str | None = Field(None, description="short-lived direct link to the file (when done)")
    file_url: str | None = Field(None, description="the same file through this API (works wherever the API does)")
    filename: str | None = None
    size: int | None = None
    cached: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None


class Facets(BaseModel):
    track: list[str]
    driver: list[str]
    event_type: list[str]
    car: list[str]
    tags: list[str]


class Me(BaseModel):
    token_id: str
    name: str
    role: str
    permissions: list[str]


class SessionRequest(BaseModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=500)]


def finite(value: Any) -> Any:
    """The value with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


class BackupView(BaseModel):
    id: str
    status: Literal["running", "completed", "failed"]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reason: str | None = None
    target: str | None = None
    bytes: int | None = None
    runs: int | None = None
    objects: int | None = None
    documents: int | None = None
    objects_copied: int | None = None
    bytes_copied: int | None = None
    seconds: float | None = None
    drill: str | None = Field(None, description='"passed", or "failed: why"; null when no drill ran')
    drill_seconds: float | None = None


class BackupVerdict(BaseModel):
    status: Literal["ok", "stale"]
    interval_s: float
    latest_good: str | None = None
    age_s: float | None = None
    drill: str | None = None
    reason: str | None = None


class BackupCoverage(BaseModel):
    """The catalogue against the latest good backup: what a restore today would lack."""

    catalogue_runs: int = Field(description="runs in the catalogue now (deleted ones not counted)")
    latest_good: str | None = Field(None, description="the latest completed backup; null when there is none")
    backup_runs: int | None = Field(None, description="runs the latest good backup holds (deleted ones included)")
    backup_started_at: datetime | None = None
    runs_not_backed_up: int = Field(description="runs (not deleted) added since the latest good backup started, or "
                                                "all of them when there is none: in no backup yet")


class BackupList(BaseModel):
    backups: list[BackupView]
    verdict: BackupVerdict
    coverage: BackupCoverage


class BackupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    with_signals: bool = Field(False, strict=True,
                               description="also the signal store (rebuildable from the MCAP files)")


class BackupAccepted(BaseModel):
    id: str = Field(description="the backup's id; listed by GET /backups once the backup service takes it")
    status: Literal["pending"] = "pending"


# -- events on runs (pitwall.common.runevents) -------------------------------------
Seconds = Annotated[
    float, Field(strict=True, ge=0, le=1e7, allow_inf_nan=False, description="seconds since the run's origin")
]


class EventCreate(BaseModel):
    """A range of the run to mark; within the run (0 to its duration_s)."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, StringConstraints(min_length=1, max_length=KIND_MAX, strip_whitespace=True)] = Field(
        description="short, what it was: `lockup`, `cone`, `BMS fault`"
    )
    start_s: Seconds
    end_s: Seconds
    note: Annotated[str, StringConstraints(max_length=NOTE_MAX, strip_whitespace=True)] = ""

    @field_validator("end_s")
    @classmethod
    def _end_not_before_start(cls, end: float, info: Any) -> float:
        start = info.data.get("start_s")
        if start is not None and end < start:
            raise PydanticCustomError(RULE, "end_s is before start_s")
        return end


class EventView(BaseModel):
    id: str
    kind: str
    start_s: float
    end_s: float
    note: str = ""
    source: Literal["user", "rule"] = "user"
    rule: str | None = Field(None, description="the ingest rule that made it (source `rule`)")
    created_by: str | None = None
    created_at: datetime | None = None


class EventList(BaseModel):
    run_id: str
    duration_s: float | None = None
    events: list[EventView] = Field(description="by start time")


class EventAccepted(CommandAccepted):
    event_id: str = Field(description="the new event's id (listed once ingest applied the command)")


class CompareLap(BaseModel):
    run_id: str
    lap: int
    label: str
    filename: str | None = None
    driver: str | None = None
    start_s: float
    end_s: float
    time_s: float
    distance_m: float = Field(description="as measured on this lap; the grid is scaled to the reference's")
    distance_source: Literal["gps", "wheel_speed"]
    lap_source: str | None = Field(None, description="what timed the lap: lap_timer, gps or lap_counter")
    note: str | None = None
    time: list[float | None] = Field(description="lap time (s since this lap's start) at each grid point")
    distance: list[float | None] = Field(
        description="metres along the lap, scaled to the reference lap, at each grid point")
    signals: dict[str, list[float | None]]


class CompareSignal(SignalFacts):
    key: str
    kind: str
    enum_names: dict[str, str] | None = Field(None, description="the protobuf enum names; `states` supersedes it")


class CompareDelta(BaseModel):
    lap_index: int
    v: list[float | None] = Field(
        description="this lap's time minus the reference's at the same distance (s); positive = slower")


class CompareMap(BaseModel):
    lat: list[float]
    lon: list[float]
    loss: list[float | None] = Field(description="seconds lost per 100 m by lap `lap_index` against the reference")
    lap_index: int


class CompareResponse(BaseModel):
    x: Literal["distance", "time"]
    grid: list[float]
    reference: int
    laps: list[CompareLap]
    signals: list[CompareSignal]
    delta: list[CompareDelta]
    map: CompareMap | None = None
    notes: list[str] = Field(default_factory=list)


# -- API tokens (admins) -------------------------------------------------------------
TokenRole = Role


class TokenView(BaseModel):
    """A token as admins see it: never its secret (nor its hash)."""

    id: str
    name: str
    role: TokenRole
    created_at: datetime
    created_by: str | None = None
    last_used_at: datetime | None = Field(default=None, description="to the minute: the gateway reports use in batches")
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    state: Literal["active", "expired", "revoked"]


class TokenList(BaseModel):
    items: list[TokenView]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="who or what uses it (shown in logs and uploads)")
    role: TokenRole
    expires_in: str | None = Field(
        default=None, max_length=20, pattern=r"^[ \t\n\r\f\v]*0*[1-9][0-9]*[ \t\n\r\f\v]*[mhdw][ \t\n\r\f\v]*$",
        description="90m, 12h, 30d, 2w; null: never",
    )


class TokenCreated(BaseModel):
    id: str
    name: str
    role: TokenRole
    expires_at: datetime | None
    secret: str = Field(description="the token itself: shown this once, stored nowhere")
    command_id: str = Field(description="the token.command event id; ingest stores the token within moments")


class TokenRevoked(BaseModel):
    id: str
    command_id: str
