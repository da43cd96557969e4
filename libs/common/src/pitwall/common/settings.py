"""The one settings object. Every tunable lives here, read from `PITWALL_*` variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The team's 16-inch tyre, loaded: lap comparison without GPS turns wheel rpm into distance
# with it (`pitwall.common.lapcompare.rpm_to_mps`). Here, not in lapcompare: settings must
# not import numpy (the base station reads them).
DEFAULT_WHEEL_RADIUS_M = 0.2032


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PITWALL_", env_file=None, extra="ignore")

    # RabbitMQ
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    exchange: str = "pitwall"
    # Retries before a message is dead-lettered, and the back-off schedule (seconds).
    max_retries: int = 4
    retry_backoff_s: list[float] = Field(default_factory=lambda: [1.0, 5.0, 30.0, 120.0])
    prefetch: int = 8
    converter_prefetch: int = 1

    # MongoDB (written only by ingest)
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_db: str = "pitwall"

    # S3 / MinIO API
    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: str = "minioadmin"
    s3_secret_key: str = "minioadmin"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    bucket_prefix: str = ""
    # Lifetime of presigned download links: long enough to start a big download (S3
    # checks the signature when the GET starts, not while it streams), short enough
    # that a link copied into a chat or a log is dead soon after.
    presign_expiry_s: int = Field(default=600, ge=1, le=7 * 86400)

    # HTTP gateway
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    upload_max_bytes: int = 8 * 1024**3
    # Lap comparison without GPS: distance from wheel rpm needs the loaded tyre radius.
    wheel_radius_m: float = Field(default=DEFAULT_WHEEL_RADIUS_M, gt=0.05, le=1.0)
    # Wrong tokens (log-in or bearer): this many different ones from one client within
    # the window lock that client out for the window (429 with Retry-After).
    auth_max_failures: int = Field(default=10, ge=1)
    auth_failure_window_s: float = Field(default=60.0, gt=0)
    # How often query_api tells ingest which tokens were used (the tokens page's "last used").
    token_usage_report_s: float = Field(default=60.0, gt=0)

    # Decoded columns ingest holds at once: a file whose columns would pass this is
    # read in several passes over groups of topics (slower, but it fits a small box).
    ingest_memory_mb: int = Field(default=512, ge=16)
    # The rules ingest marks events with (a TOML file; empty: the set shipped with
    # ingest, pitwall/ingest/event_rules.toml). Read once at start-up.
    event_rules: str = ""

    # Prometheus metrics (pitwall.common.metrics): each process serves /metrics on this
    # port when it is not 0. One port per process: replicas on one host need their own.
    # Loopback by default: metrics are for the internal network, not the internet.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # How often query_api reads queue depths from the broker for /metrics.
    metrics_refresh_s: float = Field(default=5.0, gt=0)

    # Local state (dev stack data, journals)
    data_dir: Path = Path(".pitwall")

    # Logging: "json" in services, "console" for people
    log_format: str = "json"
    log_level: str = "INFO"

    # Soft delete retention before objects may be purged
    delete_retention_days: int = 30
    # Backups: when (cron, local time), where, how long kept. The target is a URI:
    # "s3://BUCKET/PREFIX" (this S3), "s3+http://HOST:PORT/BUCKET/PREFIX" (another S3:
    # keys in backup_s3_access_key/secret_key), or "file:///PATH" (a folder).
    backup_schedule: str = "0 3 * * *"
    backup_target: str = ""  # "": s3://<bucket_backups>/pitwall
    backup_s3_access_key: str = ""
    backup_s3_secret_key: str = ""
    # The restic repository's key: from the environment only, never stored with the backup.
    backup_password: str = ""
    backup_keep_daily: int = Field(default=7, ge=0)
    backup_keep_weekly: int = Field(default=4, ge=0)
    backup_keep_monthly: int = Field(default=12, ge=0)
    backup_drill: bool = True
    # Fraction of MCAP objects the drill restores (1: all; the catalogue is always whole).
    backup_drill_sample: float = Field(default=1.0, gt=0, le=1)

    @property
    def bucket_mcap(self) -> str:
        return f"{self.bucket_prefix}pitwall-mcap"

    @property
    def bucket_exports(self) -> str:
        return f"{self.bucket_prefix}pitwall-exports"

    @property
    def bucket_signals(self) -> str:
        return f"{self.bucket_prefix}pitwall-signals"

    @property
    def bucket_backups(self) -> str:
        return f"{self.bucket_prefix}pitwall-backups"

    @property
    def buckets(self) -> tuple[str, ...]:
        return (self.bucket_mcap, self.bucket_exports, self.bucket_signals, self.bucket_backups)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
