"""`pitwall.client.Client`: the API from Python (scripts, notebooks, the base station).

    from pitwall.client import Client

    pw = Client("https://pitwall.example.org", token="pw_...")
    for run in pw.runs(track="Michigan", where="VNData:vn_vel.x.max>25"):
        print(run["id"], run["filename"], run["top_speed_mps"])
    data = pw.series(run_id, ["VNData:vn_vel.x", "BMS:cells.voltage[3]"], start=60, end=120)
    t, v = data["VNData:vn_vel.x"]
    path = pw.export([run_id], signals=["VNData:*"], format="mat", dest="exports/")
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import numpy as np

API = "/api/v1"
TERMINAL = ("done", "failed")


class PitwallError(Exception):
    """The API refused a request; `status` is the HTTP status, `detail` its explanation."""

    def __init__(self, status: int, detail: Any) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"{status}: {_describe(detail)}")


class ExportFailed(PitwallError):
    """The converter could not make the export; the message says why."""


def _describe(detail: Any) -> str:
    if isinstance(detail, list):  # FastAPI's validation errors: name each field
        return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'request'}: {e.get('msg')}" for e in detail)
    return str(detail)


class SignalSeries(NamedTuple):
    """One signal: times (seconds since the run's first message) and values."""

    t: np.ndarray
    v: np.ndarray
    kind: str
    decimated: bool


class Series(dict[str, SignalSeries]):
    """Signals by key (`topic:path`), each a (t, v) pair of numpy arrays."""

    def to_pandas(self) -> Any:
        """One DataFrame indexed by time, a column per signal (NaN where it has no sample)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pandas is optional
            raise ImportError("to_pandas() needs pandas: pip install pandas") from exc
        columns = [pd.Series(s.v, index=pd.Index(s.t, name="t"), name=key) for key, s in self.items()]
        if not columns:
            return pd.DataFrame(index=pd.Index([], name="t"))
        # Several samples of one signal can share a time stamp; keep the last, as a plot does.
        columns = [c[~c.index.duplicated(keep="last")] for c in columns]
        return pd.concat(columns, axis=1).sort_index()


def _params(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in filters.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple | set) else [value]
        for v in values:
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, bool):
                v = "true" if v else "false"
            out.append((name, str(v)))
    return out


class Client:
    """A connection to a pitwall gateway. `token` defaults to `$PITWALL_TOKEN`."""

    def __init__(
        self, url: str, token: str | None = None, *, timeout: float = 60.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        token = token or os.environ.get("PITWALL_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise PitwallError(response.status_code, detail)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    # -- runs ------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """Who the token belongs to and what it may do."""
        return dict(self._json("GET", f"{API}/me"))

    def runs(self, *, page_size: int = 200, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every run matching the filters, newest first, fetched a page at a time.

        Filters as in `GET /api/v1/runs`: recorded_after/recorded_before (datetime or
        ISO text), track, driver, event_type, car, status, tag, has_topic, has_signal,
        where (`"VNData:vn_vel.x.max>25"`, or a list of them), q, sort ("-start" or
        "start"), include_deleted. A list gives several values of one filter.
        """
        params = _params(filters)
        cursor: str | None = None
        while True:
            page_params = [*params, ("limit", str(page_size))] + ([("cursor", cursor)] if cursor else [])
            page = self._json("GET", f"{API}/runs", params=page_params)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def run(self, run_id: str) -> dict[str, Any]:
        """The whole run document: setup, channels, track, laps, uploads, history..."""
        return dict(self._json("GET", f"{API}/runs/{run_id}"))

    def signals(self, run_id: str) -> list[dict[str, Any]]:
        """Every signal of the run with its type and statistics (flat, by topic)."""
        tree = self._json("GET", f"{API}/runs/{run_id}/signals")
        return [s for topic in tree["topics"] for s in topic["signals"]]

    def track(self, run_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"{API}/runs/{run_id}/track"))

    def laps(self, run_id: str) -> list[dict[str, Any]]:
        return list(self._json("GET", f"{API}/runs/{run_id}/laps")["laps"])

    def update_run(
        self, run_id: str, *, setup: Mapping[str, str | None] | None = None, notes: str | None = None, tags: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Change setup fields, notes or tags (editor role); applied within moments."""
        body: dict[str, Any] = {}
        if setup is not None:
            body["setup"] = dict(setup)
        if notes is not None:
            body["notes"] = notes
        if tags is not None:
            body["tags"] = list(tags)
        return dict(self._json("PATCH", f"{API}/runs/{run_id}", json=body))

    def delete_run(self, run_id: str) -> dict[str, Any]:
        """Soft delete (editor role): hidden, kept, restorable by an admin."""
        return dict(self._json("DELETE", f"{API}/runs/{run_id}"))

    def restore_run(self, run_id: str) -> dict[str, Any]:
        return dict(self._json("POST", f"{API}/runs/{run_id}/restore"))

    def mcap_url(self, run_id: str) -> str:
        """A short-lived link to the original MCAP (for Foxglove or the `mcap` CLI)."""
        return str(self._json("GET", f"{API}/runs/{run_id}/mcap")["url"])

    # -- values ----------------------------------------------------------------------
    def series(
        self,
        run_id: str,
        signals: str | Sequence[str],
        start: float | None = None,
        end: float | None = None,
        *,
        max_points: int = 200_000,
    ) -> Series:
        """Values of signals (`topic:path`, `topic:path[i]` for an element of a repeated
        field) between `start` and `end` seconds since the run's first message.

        Exact unless a signal has more than `max_points` samples in the window; then it
        is min/max decimated (each bucket keeps its extremes) and `.decimated` is True.
        `.to_pandas()` gives one DataFrame when pandas is installed.
        """
        keys = [signals] if isinstance(signals, str) else list(signals)
        params: list[tuple[str, str]] = [("signals", k) for k in keys] + [("max_points", str(max_points))]
        if start is not None:
            params.append(("start", repr(float(start))))
        if end is not None:
            params.append(("end", repr(float(end))))
        body = self._json("GET", f"{API}/runs/{run_id}/series", params=params)
        out = Series()
        for s in body["signals"]:
            v = np.array([np.nan if x is None else x for x in s["v"]], dtype=np.float64)
            out[s["key"]] = SignalSeries(np.asarray(s["t"], dtype=np.float64), v, s["kind"], s["decimated"])
        return out

    # -- files -----------------------------------------------------------------------
    def upload(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Upload an MCAP file (uploader role), streamed. Returns {id (SHA-256), duplicate, ...}."""
        p = Path(path)
        with open(p, "rb") as fh:
            return dict(self._json("POST", f"{API}/uploads", files={"file": (p.name, fh, "application/octet-stream")}))

    def export(
        self,
        runs: str | Sequence[str],
        signals: Sequence[str] = (),
        *,
        topics: str | None = None,
        start: float | None = None,
        end: float | None = None,
        resample_hz: float | None = None,
        interp: str = "hold",
        format: str = "mat",
        layout: str = "struct",
        dest: str | os.PathLike[str] = ".",
        progress: bool = True,
        timeout: float = 3600.0,
        poll_s: float = 0.5,
    ) -> Path:
        """Export runs (MAT v5/v7.3, CSV, Parquet), wait for it with a progress bar, and
        download it into `dest`: a folder (made if needed; the file keeps the export's
        name, from the run's file name) or a file name with its suffix. Returns the path.

        Raises ExportFailed with the converter's reason when the export cannot be made."""
        body = {
            "runs": [runs] if isinstance(runs, str) else list(runs),
            "signals": list(signals), "topics": topics, "start": start, "end": end,
            "resample_hz": resample_hz, "interp": interp, "format": format, "layout": layout,
        }
        job = self._json("POST", f"{API}/exports", json={k: v for k, v in body.items() if v is not None})
        status = self._wait(job["id"], progress=progress, timeout=timeout, poll_s=poll_s)
        target = Path(dest)
        # A folder (existing, ending in a slash, or without a suffix): the export's own name.
        if target.is_dir() or str(dest).endswith(("/", os.sep)) or not target.suffix:
            target = target / (status.get("filename") or f"{job['id']}.{format}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        with self.http.stream("GET", status["file_url"]) as response, open(partial, "wb") as fh:
            if response.status_code >= 400:
                raise PitwallError(response.status_code, response.read().decode(errors="replace"))
            for block in response.iter_bytes(1 << 20):
                fh.write(block)
        partial.replace(target)
        return target

    def export_status(self, export_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"{API}/exports/{export_id}"))

    def _wait(self, export_id: str, *, progress: bool, timeout: float, poll_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        bar = _Progress(enabled=progress and sys.stderr.isatty())
        try:
            while True:
                status = self.export_status(export_id)
                bar.update(status["progress"], status.get("stage") or status["status"])
                if status["status"] == "done":
                    return status
                if status["status"] == "failed":
                    raise ExportFailed(422, status.get("reason") or "the export failed")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"export {export_id} not done after {timeout:.0f} s (last: {status['status']})")
                time.sleep(poll_s)
        finally:
            bar.close()


class _Progress:
    """A rich progress bar on a terminal; nothing otherwise (logs stay clean)."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

            self._bar = Progress(TextColumn("export"), BarColumn(), TaskProgressColumn(), TextColumn("{task.description}"), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("queued", total=1.0)

    def update(self, value: float, stage: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=value, description=stage)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
