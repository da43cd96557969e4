"""A station's settings: `PITWALL_BASESTATION_*` variables, or a TOML file, or both.

The TOML file (`PITWALL_BASESTATION_CONFIG` or `--config`) suits several cars:

    station_id = "trackside-1"
    api_url = "https://pitwall.example.org"
    token = "pw_..."
    spool_dir = "/var/lib/pitwall-station"

    [[sources]]
    id = "car"
    kind = "sftp"
    host = "192.168.1.20"
    user = "hytech"
    key = "/etc/pitwall/car_ed25519"
    known_hosts = "/etc/pitwall/known_hosts"
    remote_dir = "/home/hytech/logs"

    [[sources]]
    id = "usb"
    kind = "directory"
    path = "/media/usb/logs"

Variables win over the file. One directory is the shortest set-up:
`PITWALL_BASESTATION_WATCH_DIR=/media/usb/logs`.
"""

from __future__ import annotations

import os
import socket
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SOURCE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class SourceConfig(BaseModel):
    """One place logs come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SOURCE_ID)
    kind: Literal["sftp", "directory"]
    # directory
    path: Path | None = None
    recursive: bool = True
    # sftp
    host: str | None = None
    port: int = Field(default=22, ge=1, le=65535)
    user: str | None = None
    key: Path | None = None
    known_hosts: Path | None = None  # None: the user's ~/.ssh/known_hosts
    remote_dir: str = "."
    # Ask the car for `sha256sum` of what was copied (needs coreutils on the car).
    verify_on_car: bool = True
    connect_timeout_s: float = Field(default=10.0, gt=0)
    pattern: str = "*.mcap"

    @model_validator(mode="after")
    def _complete(self) -> SourceConfig:
        if self.kind == "directory" and self.path is None:
            raise ValueError(f"source {self.id}: a directory source needs `path`")
        if self.kind == "sftp" and not self.host:
            raise ValueError(f"source {self.id}: an sftp source needs `host`")
        return self


class StationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PITWALL_BASESTATION_", extra="ignore")

    station_id: str = Field(default_factory=lambda: socket.gethostname().split(".")[0][:64] or "station",
                            pattern=SOURCE_ID)
    api_url: str = "http://127.0.0.1:8000"
    token: str = ""
    spool_dir: Path = Path(".pitwall/basestation")
    journal_path: Path | None = None  # default: <spool_dir>/journal.sqlite
    sources: list[SourceConfig] = Field(default_factory=list)
    watch_dir: Path | None = None  # shorthand for one directory source with id "dir"

    # A file is finished when its size and mtime held still this long (or it ends in
    # an MCAP footer and held still across two scans).
    settle_s: float = Field(default=10.0, ge=0)
    scan_interval_s: float = Field(default=5.0, gt=0)
    heartbeat_s: float = Field(default=15.0, gt=0)
    # How often an announced file's run status is asked for.
    confirm_poll_s: float = Field(default=3.0, gt=0)
    # An announced file still unknown to the cloud after this is announced again.
    reannounce_after_s: float = Field(default=300.0, gt=0)

    delete_from_car_after: Literal["never", "confirmed"] = "never"
    # Shared track-side uplink: bytes/s for uploads (0: no cap).
    bandwidth_bps: int = Field(default=0, ge=0)
    # The car's Wi-Fi may also carry live telemetry: bytes/s for copies off it (0: no cap).
    copy_bps: int = Field(default=0, ge=0)
    backoff_base_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    http_timeout_s: float = Field(default=60.0, gt=0)
    # Parts of one file in flight at once (memory: this many x 8 MiB).
    upload_parallel: int = Field(default=3, ge=1, le=16)
    copy_chunk_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)

    # Fault injection for the crash tests: hold after the last part is uploaded and
    # before the file is announced (a SIGKILL lands in that window).
    fault_pause_before_announce_s: float = Field(default=0.0, ge=0)

    @property
    def journal(self) -> Path:
        return self.journal_path or self.spool_dir / "journal.sqlite"

    def all_sources(self) -> list[SourceConfig]:
        found = list(self.sources)
        if self.watch_dir is not None and not any(s.id == "dir" for s in found):
            found.append(SourceConfig(id="dir", kind="directory", path=self.watch_dir))
        return found


def load_station_settings(config: Path | None = None, **overrides: Any) -> StationSettings:
    """Settings from the TOML file (if any) under the environment (which wins)."""
    path = config or (Path(p) if (p := os.environ.get("PITWALL_BASESTATION_CONFIG")) else None)
    from_file: dict[str, Any] = {}
    if path is not None:
        try:
            from_file = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ValueError(f"cannot read the station config {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {exc}") from None
    env_keys = {k[len("PITWALL_BASESTATION_"):].lower() for k in os.environ if k.startswith("PITWALL_BASESTATION_")}
    merged = {k: v for k, v in from_file.items() if k not in env_keys}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return StationSettings(**merged)
