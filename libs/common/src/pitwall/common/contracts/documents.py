"""The stored documents of the catalogue database, as writers build them and readers read them.

Ingest writes `runs`, `run_summaries`, `signals`, `jobs`, `tokens` and `stations`; the backup
service writes `backups`; query_api reads all of them through these types. TypedDicts, not
models: a document read back from MongoDB is a plain dict (no parsing cost on a list page),
and the types let mypy check both sides against one description.

`total=False` where a field may be missing: documents written by older code lack fields
added since (readers use `.get`), and a rejected run has none of a recording's fields.
Datetimes are aware when written; a client without `tz_aware` reads them naive (UTC), see
`pitwall.common.apitokens.aware`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypedDict

RunStatus = Literal["ready", "recovered", "rejected"]
JobStatus = Literal["queued", "running", "done", "failed"]
BackupStatus = Literal["running", "completed", "failed"]
LapSource = Literal["gps", "lap_counter", "lap_timer"]


class UploadDoc(TypedDict, total=False):
    """One upload of a run's file (`runs.uploads[]`): the first, then each duplicate."""

    event_id: str
    filename: str
    source: str
    source_id: str | None
    uploader: str | None
    received_at: datetime
    duplicate: bool  # only on uploads after the first


class RecoveryDoc(TypedDict):
    """What a truncated recording lost (`runs.recovery`)."""

    truncated: bool
    lost_tail_bytes: int
    lost_messages: int


class SkippedDoc(TypedDict):
    """Records the reader skipped, grouped by what and why (`runs.skipped[]`)."""

    what: str
    reason: str
    count: int


class TrackDoc(TypedDict):
    """The GPS track shown on the run page (`runs.track`): points are [t_s, lat, lon]."""

    topic: str
    lat_path: str
    lon_path: str
    points: list[list[float]]
    distance_m: float
    top_speed_mps: float


class LapDoc(TypedDict):
    """One completed lap (`runs.laps[]`); times are seconds since the run's origin."""

    lap: int
    start_s: float
    end_s: float
    time_s: float
    distance_m: float | None  # None when timed by the car's counter and there is no GPS
    source: LapSource


class ChannelDoc(TypedDict):
    """One topic of the recording (`runs.channels[]`)."""

    topic: str
    schema_name: str
    encoding: str
    message_count: int
    rate_hz: float | None
    first_ns: int | None
    last_ns: int | None
    signal_count: int


class RunDoc(TypedDict, total=False):
    """A run (`runs`, `_id` = the file's SHA-256), written by ingest from `file.uploaded`.

    A ready or recovered run has every field below but `reason`; a rejected one has the
    identity, upload and edit fields, `reason`, and an empty `setup`/`topics`. Edits
    (`run.command`) change `notes`, `tags`, `setup`, `events`, `deleted*`, `search` and
    append to `history`."""

    _id: str
    sha256: str
    status: RunStatus
    reason: str  # rejected runs: why, for the person who uploaded the file
    object_key: str
    size: int
    filename: str
    filenames: list[str]  # other names the same bytes were uploaded under
    uploads: list[UploadDoc]
    start_ns: int | None
    end_ns: int | None
    start_time: datetime | None
    end_time: datetime | None
    duration_s: float
    message_count: int
    recovery: RecoveryDoc
    skipped: list[SkippedDoc]
    setup: dict[str, Any]  # driver, track, event_type, car, ... (see pitwall.ingest.setup)
    setup_raw: dict[str, Any]
    metadata: dict[str, Any]
    channels: list[ChannelDoc]
    topics: list[str]
    signal_keys: list[str]
    track: TrackDoc | None
    laps: list[LapDoc]
    lap_count: int
    best_lap_s: float | None
    distance_m: float | None
    top_speed_mps: float | None
    notes: str
    tags: list[str]
    events: list[dict[str, Any]]  # pitwall.common.runevents.RunEvent.doc()
    history: list[dict[str, Any]]  # one audit entry per run.command
    deleted: bool
    deleted_at: datetime | None
    deleted_by: str | None
    ingested_at: datetime
    updated_at: datetime
    search: list[str]  # contracts.searchwords.word_set of the filename, notes and setup texts


class SummaryDoc(TypedDict, total=False):
    """The slim copy of a run that lists read (`run_summaries`, `_id` = the run's):
    `pitwall.common.summaries.run_summary` of the run, so it is rebuilt, never edited.
    Fields the run lacks are left out."""

    _id: str
    format: int  # summaries.FORMAT_VERSION of the code that made it
    filename: str
    status: RunStatus
    reason: str
    start_time: datetime | None
    end_time: datetime | None
    start_ns: int | None
    end_ns: int | None
    duration_s: float
    size: int
    message_count: int
    setup: dict[str, Any]
    tags: list[str]
    notes: str
    lap_count: int
    best_lap_s: float | None
    distance_m: float | None
    top_speed_mps: float | None
    deleted: bool
    ingested_at: datetime
    updated_at: datetime
    topics: list[str]
    search: list[str]  # the run's search words and their prefixes
    event_tokens: list[str]
    uploaded_ns: int


class SignalDoc(TypedDict, total=False):
    """Statistics of one signal of one run (`signals`), for where-queries."""

    run_id: str
    key: str  # "<topic>:<path>"
    topic: str
    path: str
    kind: str
    count: int
    width: int  # repeated signals
    min: float
    max: float
    mean: float
    distinct: list[Any]
    distinct_count: int
    distinct_names: list[str]


class JobDoc(TypedDict, total=False):
    """An export job (`jobs`, `_id` = job id), from the conversion.* events; it only moves
    forward (queued -> running -> done | failed), whatever order the events arrive in."""

    _id: str
    status: JobStatus
    progress: float
    stage: str
    request: dict[str, Any]  # the conversion.requested event, as JSON
    result_key: str
    size: int
    cached: bool
    summary: dict[str, Any]
    error: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime


class TokenDoc(TypedDict):
    """An API token (`tokens`, `_id` = token id): only its hash, never the secret
    (`pitwall.common.apitokens.token_document`)."""

    _id: str
    hash: str
    name: str
    role: str
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None


class StationDoc(TypedDict):
    """The latest status of one base station (`stations`, `_id` = station id)."""

    _id: str
    last_seen: datetime
    status: dict[str, Any]  # the StationStatus event (model_dump, datetimes kept)
    updated_at: datetime


class BackupDoc(TypedDict, total=False):
    """One backup the backup service made or tried (`backups`, `_id` = backup id, the
    schedule slot): a claim while running, then its outcome."""

    _id: str
    status: BackupStatus
    started_at: datetime
    owner: str  # host:pid of the process that claimed it
    interval_s: float
    reason: str  # failed
    finished_at: datetime
    bytes: int
    runs: int
    objects: int
    documents: int
    objects_copied: int
    bytes_copied: int
    seconds: float
    drill: str | None
    drill_seconds: float | None
    target: str
    manifest_key: str


class OutboxDoc(TypedDict):
    """An event waiting to be published (`outbox`, `_id` = event id)."""

    _id: str
    routing_key: str
    body: str  # the event's JSON
    correlation_id: str | None
    created_at: datetime
    published_at: datetime | None


class ProcessedDoc(TypedDict):
    """A handled message's idempotency key (`processed`)."""

    _id: str
    at: datetime
