"""`pitwall.client.Client`: the API from Python (scripts, notebooks, the base station).

    from pitwall.client import Client

    pw = Client("https://pitwall.example.org", token="pw_...")
    for run in pw.runs(track="Michigan", where="VNData:vn_vel.x.max>25"):
        print(run["id"], run["filename"], run["top_speed_mps"])
    data = pw.series(run_id, ["VNData:vn_vel.x", "BMS:cells.voltage[3]"], start=60, end=120)
    t, v, *_ = data["VNData:vn_vel.x"]; data["VNData:vn_vel.x"].unit   # "m/s" (None: unknown)
    path = pw.export([run_id], signals=["VNData:*"], format="mat", dest="exports/")
    S = pw.load(run_id, ["VNData:vn_vel.*"], start=60, end=90)   # as the MAT export, exact
    cmp = pw.compare([(run_id, 3), (other_id, 2)], ["VNData:vn_vel.x"])
    pw.load_can("hytech.sym", valid_from="2024-01-01")                  # units, state names
    pw.catalogue("pressure")                                             # what the catalogue says

Units and state names travel with the values: `SignalSeries.unit`/`.states`, a topic's
`.units`/`.states` from `load`, `Comparison.units`/`.states`, and in every DataFrame
`df.attrs["units"]` (column -> unit) and `df.attrs["states"]` (column -> {code: name}).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import httpx
import numpy as np

from pitwall.client.facts import States, TopicFields, known, mat_facts, states_of

API = "/api/v1"
TERMINAL = ("done", "failed")


class PitwallError(Exception):
    """The API refused a request; `status` is the HTTP status, `detail` its explanation for
    people, `code` the machine-readable reason to decide on (`not_found`, `forbidden`,
    `not_mcap`...: pitwall.common.contracts.errorcodes.ErrorCode; None when the answer had none).
    """

    def __init__(self, status: int, detail: Any, code: str | None = None) -> None:
        self.status = status
        self.detail = detail
        self.code = code
        super().__init__(f"{status}: {_describe(detail)}")


class ExportFailed(PitwallError):
    """The converter could not make the export; the message says why."""


def _refusal(status: int, text: str) -> PitwallError:
    """The error of an answer: its `detail` and `code` when the body is the API's JSON."""
    try:
        body = json.loads(text)
    except ValueError:
        return PitwallError(status, text)
    if not isinstance(body, dict):
        return PitwallError(status, text)
    code = body.get("code")
    return PitwallError(status, body.get("detail", text), code if isinstance(code, str) else None)


def _describe(detail: Any) -> str:
    if isinstance(detail, list):  # FastAPI's validation errors: name each field
        return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'request'}: {e.get('msg')}"
                         for e in detail)
    return str(detail)


class SignalSeries(NamedTuple):
    """One signal: times (seconds since the run's first message) and values, then what the
    channel catalogue says of it (None when unknown). Unpack as `t, v, *_ = ...`."""

    t: np.ndarray
    v: np.ndarray
    kind: str
    decimated: bool
    unit: str | None = None
    states: States | None = None  # code -> state name
    description: str | None = None
    display_name: str | None = None


class Series(dict[str, SignalSeries]):
    """Signals by key (`topic:path`), each a (t, v) pair of numpy arrays."""

    def to_pandas(self) -> Any:
        """One DataFrame indexed by time, a column per signal (NaN where it has no sample);
        `attrs["units"]` and `attrs["states"]` by column, for the signals that have them."""
        try:
            import pandas as pd
        except ImportError as exc:  # pandas is optional
            raise ImportError("to_pandas() needs pandas: pip install pandas") from exc
        columns = [pd.Series(s.v, index=pd.Index(s.t, name="t"), name=key) for key, s in self.items()]
        if not columns:
            frame = pd.DataFrame(index=pd.Index([], name="t"))
        else:
            # Several samples of one signal can share a time stamp; keep the last, as a plot does.
            columns = [c[~c.index.duplicated(keep="last")] for c in columns]
            frame = pd.concat(columns, axis=1).sort_index()
        frame.attrs["units"] = known({key: s.unit for key, s in self.items()})
        frame.attrs["states"] = known({key: s.states for key, s in self.items()})
        return frame


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
            raise _refusal(response.status_code, response.text)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    # -- runs ------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """Who the token belongs to and what it may do."""
        return dict(self._json("GET", f"{API}/me"))

    def runs(self, *, page_size: int = 200, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every run matching the filters, newest recording first, fetched a page at a time.

        Filters as in `GET /api/v1/runs`: recorded_after/recorded_before (datetime or
        ISO text), track, driver, car (an exact name, or words that start words of the
        names: "Michigan"), event_type, status, tag, has_topic, has_signal, where
        (`"VNData:vn_vel.x.max>25"`, or a list of them), q (every word, or its start),
        sort ("-start", "start", "-uploaded": today's uploads first, "uploaded"),
        include_deleted. A list gives several values of one filter.
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
        """Every signal of the run with its type and statistics (flat, by topic), and what the
        catalogue says of it where it says anything: `unit`, `description`, `display_name`,
        `states` (code as a decimal string -> name)."""
        tree = self._json("GET", f"{API}/runs/{run_id}/signals")
        return [s for topic in tree["topics"] for s in topic["signals"]]

    def track(self, run_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"{API}/runs/{run_id}/track"))

    def laps(self, run_id: str) -> list[dict[str, Any]]:
        return list(self._json("GET", f"{API}/runs/{run_id}/laps")["laps"])

    def update_run(
        self, run_id: str, *, setup: Mapping[str, str | None] | None = None, notes: str | None = None,
        tags: Sequence[str] | None = None,
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
        Each signal carries `.unit` and `.states` ({code: name}) when the catalogue knows
        them; a renamed signal can be asked by either name and keeps the name asked.
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
            out[s["key"]] = SignalSeries(
                np.asarray(s["t"], dtype=np.float64), v, s["kind"], s["decimated"],
                s.get("unit"), states_of(s), s.get("description"), s.get("display_name"),
            )
        return out

    def load(
        self,
        run_id: str,
        signals: str | Sequence[str],
        start: float | None = None,
        end: float | None = None,
        *,
        event: str | None = None,
        resample_hz: float | None = None,
        pandas: bool = False,
        timeout: float = 600.0,
    ) -> dict[str, Any]:
        """Signals of one run, exact, under the names of the MAT export.

        Made by an export job (MAT, struct layout), so the values are the ones
        `pitwall convert` writes: `{"VNData": {"t": array, "vn_vel.x": array, ...}}`, one
        entry per topic (its MAT variable name), each field under its MAT path below the
        topic; repeated fields are N x K. Each topic's `.units` and `.states` ({code: name})
        name its fields' units and state names, as the export's `signal_map` and
        `meta.states` hold them. `pandas=True` gives one DataFrame per topic, indexed by `t`
        (repeated fields as columns `name[0]`, `name[1]`, ...), with `attrs["units"]` and
        `attrs["states"]` by column. `event` cuts the export to one of the run's events."""
        import tempfile

        from scipy.io import loadmat

        keys = [signals] if isinstance(signals, str) else list(signals)
        body: dict[str, Any] = {"runs": [run_id], "signals": keys, "format": "mat", "layout": "struct"}
        for name, value in (("start", start), ("end", end), ("event", event), ("resample_hz", resample_hz)):
            if value is not None:
                body[name] = value
        job = self._json("POST", f"{API}/exports", json=body)
        status = self._wait(job["id"], progress=True, timeout=timeout, poll_s=0.3)
        with tempfile.TemporaryDirectory(prefix="pitwall-load-") as tmp:
            path = Path(tmp) / "load.mat"
            self._download(status["file_url"], path)
            mat = loadmat(path, struct_as_record=False, squeeze_me=False)
        facts = mat_facts(mat)
        out: dict[str, Any] = {}
        for name, value in mat.items():
            # meta and signal_map describe the file: their units and states go on each topic.
            if name.startswith("__") or name in ("meta", "signal_map") or not _is_struct(value):
                continue
            fields: dict[str, np.ndarray] = {}
            _flatten(value[0, 0], "", fields)
            topic = TopicFields(fields, *facts.get(name, ({}, {})))
            out[name] = _frame(topic) if pandas else topic
        return out

    def compare(
        self,
        laps: Sequence[tuple[str, int]],
        signals: Sequence[str] = (),
        *,
        x: str = "distance",
        points: int = 1000,
        ref: int = 0,
    ) -> Comparison:
        """Laps (`[(run_id, lap), ...]`, the first the reference) aligned by distance along
        the reference lap or by lap time, as numpy arrays: `.grid`, `.laps[i]["time"]`,
        `.laps[i]["signals"][key]`, `.delta[i]` (seconds lost against the reference)."""
        params = {
            "laps": ",".join(f"{run}:{lap}" for run, lap in laps),
            "signals": ",".join(signals),
            "x": x,
            "points": str(points),
            "ref": str(ref),
        }
        return Comparison.of(self._json("GET", f"{API}/compare", params=params))

    # -- the channel catalogue -------------------------------------------------------
    def catalogue(self, q: str | None = None) -> list[dict[str, Any]]:
        """Signals the catalogue describes (of existing runs, and edited keys): each with
        `key`, `unit`, `description`, `display_name`, `states`, `runs`, `aliases`... `q`:
        words of a key, display name or description."""
        params = {"q": q} if q else None
        return list(self._json("GET", f"{API}/catalogue/signals", params=params)["items"])

    def load_can(self, path: str | os.PathLike[str], valid_from: date | str | None = None) -> dict[str, Any]:
        """Load a CAN description (SYM, DBC, KCD, ARXML; editor role) into the catalogue.
        It applies to runs recorded on or after `valid_from` (a date or ISO text; None:
        always), and is stored within moments of the answer (its counts: messages, signals,
        `matched` keys of existing runs)."""
        p = Path(path)
        data = {"valid_from": valid_from.isoformat() if isinstance(valid_from, date) else valid_from}
        with open(p, "rb") as fh:
            return dict(self._json("POST", f"{API}/catalogue/sources", files={"file": (p.name, fh)},
                                   data={k: v for k, v in data.items() if v is not None}))

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
        self._download(status["file_url"], partial)
        partial.replace(target)
        return target

    def _download(self, url: str, path: Path) -> None:
        with self.http.stream("GET", url) as response, open(path, "wb") as fh:
            if response.status_code >= 400:
                raise _refusal(response.status_code, response.read().decode(errors="replace"))
            for block in response.iter_bytes(1 << 20):
                fh.write(block)

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


def _is_struct(value: Any) -> bool:
    return (isinstance(value, np.ndarray) and value.dtype == object and value.size == 1
            and hasattr(value.flat[0], "_fieldnames"))


def _flatten(struct: Any, prefix: str, out: dict[str, np.ndarray]) -> None:
    for field in struct._fieldnames:
        value = getattr(struct, field)
        name = f"{prefix}{field}"
        if _is_struct(value):
            _flatten(value.flat[0], name + ".", out)
        elif isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[1] == 1 and value.dtype != object:
            out[name] = value[:, 0]  # MATLAB's N x 1 column as a plain vector
        elif isinstance(value, np.ndarray) and value.dtype == object:
            # A cell array of text: one Python str per sample.
            out[name] = np.array([str(v.flat[0]) if v.size else "" for v in value.ravel()], dtype=object)
        else:
            out[name] = value


def _frame(fields: TopicFields) -> Any:
    import pandas as pd

    columns: dict[str, Any] = {}
    units: dict[str, str] = {}
    states: dict[str, States] = {}
    for name, values in fields.items():
        if name == "t":
            continue
        names = [f"{name}[{k}]" for k in range(values.shape[1])] if values.ndim == 2 else [name]
        for k, column in enumerate(names):
            columns[column] = values[:, k] if values.ndim == 2 else values
            if name in fields.units:
                units[column] = fields.units[name]
            if name in fields.states:
                states[column] = fields.states[name]
    frame = pd.DataFrame(columns, index=pd.Index(fields.get("t"), name="t"))
    frame.attrs["units"] = units
    frame.attrs["states"] = states
    return frame


_NONE: Mapping[str, Any] = MappingProxyType({})


class Comparison(NamedTuple):
    """The answer of `Client.compare`, with every series as a float64 array (NaN = none);
    `units` and `states` ({code: name}) of the signals that have them, by key."""

    x: str
    grid: np.ndarray
    reference: int
    laps: list[dict[str, Any]]
    delta: dict[int, np.ndarray]
    map: dict[str, Any] | None
    notes: list[str]
    units: Mapping[str, str] = _NONE
    states: Mapping[str, States] = _NONE

    @classmethod
    def of(cls, body: dict[str, Any]) -> Comparison:
        def arr(values: list[float | None]) -> np.ndarray:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        laps = []
        for lap in body["laps"]:
            laps.append({**lap, "time": arr(lap["time"]), "distance": arr(lap["distance"]),
                         "signals": {k: arr(v) for k, v in lap["signals"].items()}})
        delta = {d["lap_index"]: arr(d["v"]) for d in body["delta"]}
        signals = body.get("signals") or []
        return cls(body["x"], arr(body["grid"]), body["reference"], laps, delta, body.get("map"),
                   list(body.get("notes") or []), known({s["key"]: s.get("unit") for s in signals}),
                   known({s["key"]: states_of(s) for s in signals}))

    def to_pandas(self) -> Any:
        """One long DataFrame: lap label, x (the grid: metres or seconds), the lap's time
        and distance there, its delta against the reference, and each signal; units and
        states by column in `attrs` (the grid's own columns' units too)."""
        import pandas as pd

        frames = []
        for i, lap in enumerate(self.laps):
            cols = {"lap": lap["label"], "x": self.grid, "time": lap["time"], "distance": lap["distance"],
                    "delta": self.delta.get(i, np.zeros_like(self.grid))}
            cols.update(lap["signals"])
            frames.append(pd.DataFrame(cols))
        table = pd.concat(frames, ignore_index=True)
        grid_unit = "m" if self.x == "distance" else "s"
        table.attrs["units"] = {"x": grid_unit, "time": "s", "distance": "m", "delta": "s", **self.units}
        table.attrs["states"] = dict(self.states)
        return table


class _Progress:
    """A rich progress bar on a terminal; nothing otherwise (logs stay clean)."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

            self._bar = Progress(TextColumn("export"), BarColumn(), TaskProgressColumn(),
                                 TextColumn("{task.description}"), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("queued", total=1.0)

    def update(self, value: float, stage: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=value, description=stage)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
