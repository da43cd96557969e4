"""The people of `make load`, as Locust users (run by Locust in its own process).

Locust monkeypatches the standard library with gevent: never import this module from
pytest, the bench or the runner; bench/load/locustrun.py starts `locust -f` on it.

- Viewers and editors do what people do on the web page: list runs with filters and
  pages, open a run (detail, signals, laps, track), plot signals while zooming in,
  export a random selection (MAT/CSV/Parquet), follow it and download the file.
  Editors also edit a run's notes and tags.
- One uploader sends a new synth file through `POST /api/v1/uploads` every few seconds
  (the files were written beforehand: making them here would stall every user's
  greenlet and measure the synth generator instead of the API).

Stats are per endpoint template (`name=`), never per URL. Every export, upload and edit
the API accepted is written to a journal (JSON lines) for the runner's checks; status
codes per endpoint go to a JSON file at the end (Locust's CSVs do not keep them).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, between, events, task

_config: dict[str, Any] = {}
_codes: dict[str, dict[str, int]] = {}
FORMATS = ("mat", "csv", "parquet")
TAGS = ("baseline", "wet", "new-tyres", "aero-v2", "review", "brake-bias")
TOPIC_GLOBS = ("VNData:*", "IMUData:accel.*", "WheelSpeedData:*", "PedalsData:*", "BrakeData:*", "SteeringData:*")


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--pitwall-config", default="", help="JSON written by bench/load/locustrun.py")


@events.init.add_listener
def _load_config(environment: Any, **_: Any) -> None:
    path = getattr(environment.parsed_options, "pitwall_config", "") if environment.parsed_options else ""
    if not path:
        raise SystemExit("--pitwall-config is required (bench/load/run.py writes it)")
    _config.update(json.loads(Path(path).read_text()))


@events.request.add_listener
def _count_status(request_type: str, name: str, response: Any = None, **_: Any) -> None:
    code = str(getattr(response, "status_code", 0) or 0)  # 0: no response (connection error)
    by_code = _codes.setdefault(f"{request_type} {name}", {})
    by_code[code] = by_code.get(code, 0) + 1


@events.test_stop.add_listener
@events.quitting.add_listener
def _write_codes(**_: Any) -> None:
    if _config.get("codes_out"):
        Path(_config["codes_out"]).write_text(json.dumps(_codes, indent=1, sort_keys=True))


def journal(kind: str, **fields: Any) -> None:
    # One write per line and no yield in between: greenlets never interleave a line.
    with open(_config["journal"], "a") as out:
        out.write(json.dumps({"kind": kind, "t": time.time(), **fields}) + "\n")


class Person(FastHttpUser):
    abstract = True
    role = "viewer"
    wait_time = between(0.5, 2.5)  # reading what came back before the next click

    def on_start(self) -> None:
        self.rng = random.Random()
        self.auth = {"Authorization": f"Bearer {_config['tokens'][self.role]}"}
        self.runs: dict[str, float] = dict(_config["runs"])  # id -> duration_s (listed, not rejected)
        self.keys: dict[str, list[str]] = {}  # run id -> plottable `topic:path` keys
        self.facets = self.get("/api/v1/facets", "/api/v1/facets") or {}
        if _config.get("every_job_once"):
            self.export()  # a short run (CI) then has jobs of every kind to check, whatever the dice say

    # -- requests ------------------------------------------------------------------------
    def get(self, path: str, name: str, **params: Any) -> Any:
        url = path + ("?" + urlencode(params, doseq=True) if params else "")
        with self.client.get(url, name=name, headers=self.auth, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}: {(r.text or '')[:200]}")
                return None
            try:
                return r.json()
            except ValueError:
                r.failure("not JSON")
                return None

    def send(self, method: str, path: str, name: str, body: dict[str, Any], expect: int = 202) -> Any:
        with self.client.request(method, path, name=name, headers=self.auth, json=body, catch_response=True) as r:
            if r.status_code != expect:
                r.failure(f"HTTP {r.status_code}: {(r.text or '')[:200]}")
                return None
            return r.json()

    def pick_run(self) -> str:
        return self.rng.choice(sorted(self.runs))

    def signal_keys(self, run_id: str) -> list[str]:
        if run_id not in self.keys:
            tree = self.get(f"/api/v1/runs/{run_id}/signals", "/api/v1/runs/{id}/signals") or {"topics": []}
            self.keys[run_id] = [
                s["key"] if not s.get("width") else f"{s['key']}[{self.rng.randrange(s['width'])}]"
                for topic in tree["topics"] for s in topic["signals"] if s.get("kind") != "string"
            ]
        return self.keys[run_id]

    # -- what people do ------------------------------------------------------------------
    @task(5)
    def browse(self) -> None:
        """The runs page: a filter or two, sometimes a few more pages."""
        params: dict[str, Any] = {"limit": self.rng.choice((20, 50, 50, 100))}
        for field in self.rng.sample(("driver", "track", "event_type", "car"), k=self.rng.choice((0, 0, 1, 1, 2))):
            if self.facets.get(field):
                params[field] = self.rng.choice(self.facets[field])
        if self.rng.random() < 0.2:
            params["recorded_after"] = f"{self.rng.choice((2023, 2024))}-{self.rng.randint(1, 12):02d}-01"
        if self.rng.random() < 0.2:
            params["sort"] = "start"
        if self.rng.random() < 0.1:
            params["has_topic"] = "VNData"
        if self.rng.random() < 0.1 and self.facets.get("driver"):
            params["q"] = self.rng.choice(self.facets["driver"]).lower()
        page = self.get("/api/v1/runs", "/api/v1/runs", **params)
        for _ in range(self.rng.choice((0, 0, 1, 2))):
            if not page or not page.get("next_cursor"):
                break
            page = self.get("/api/v1/runs", "/api/v1/runs (next page)", **params, cursor=page["next_cursor"])
        for item in (page or {}).get("items", []):
            if item.get("status") in ("ready", "recovered"):
                self.runs[item["id"]] = float(item.get("duration_s") or 0.0)
        if self.rng.random() < 0.1:
            self.facets = self.get("/api/v1/facets", "/api/v1/facets") or self.facets

    @task(4)
    def open_run(self) -> None:
        """A run's page: the document, its signal tree, laps and the track map."""
        run_id = self.pick_run()
        self.get(f"/api/v1/runs/{run_id}", "/api/v1/runs/{id}")
        self.keys.pop(run_id, None)
        self.signal_keys(run_id)
        self.get(f"/api/v1/runs/{run_id}/laps", "/api/v1/runs/{id}/laps")
        self.get(f"/api/v1/runs/{run_id}/track", "/api/v1/runs/{id}/track")

    @task(4)
    def zoom(self) -> None:
        """A plot of a few signals, then zooming into ever narrower windows."""
        run_id = self.pick_run()
        keys = self.signal_keys(run_id)
        if not keys:
            return
        chosen = ",".join(self.rng.sample(keys, k=min(len(keys), self.rng.randint(1, 5))))
        lo, hi = 0.0, max(self.runs.get(run_id) or 0.0, 1.0)
        series = f"/api/v1/runs/{run_id}/series"
        self.get(series, "/api/v1/runs/{id}/series", signals=chosen, max_points=2000)
        for _ in range(self.rng.randint(2, 4)):
            time.sleep(self.rng.uniform(0.2, 1.0))  # looking at the plot, then dragging
            width = (hi - lo) / self.rng.choice((2, 4, 8))
            centre = self.rng.uniform(lo + width / 2, hi - width / 2)
            lo, hi = centre - width / 2, centre + width / 2
            self.get(series, "/api/v1/runs/{id}/series", signals=chosen, start=round(lo, 3), end=round(hi, 3),
                     max_points=self.rng.choice((500, 1000, 2000)))

    @task(1)
    def export(self) -> None:
        """Export a random selection, follow it like the progress bar does, download it."""
        runs = self.rng.sample(sorted(self.runs), k=min(len(self.runs), self.rng.choice((1, 1, 2, 3))))
        body: dict[str, Any] = {"runs": runs, "format": self.rng.choice(FORMATS)}
        pick = self.rng.random()
        if pick < 0.45:
            # Export globs take whole repeated fields: `path[3]` would be a character class there.
            keys = sorted({k.split("[", 1)[0] for k in self.signal_keys(runs[0])})
            body["signals"] = self.rng.sample(keys, k=min(len(keys), self.rng.randint(2, 8)))
        elif pick < 0.8:
            body["signals"] = self.rng.sample(TOPIC_GLOBS, k=self.rng.randint(1, 3))
        elif pick < 0.92:
            body["topics"] = "^(IMUData|VNData|PedalsData)$"
        # else: every signal
        if self.rng.random() < 0.5:
            duration = min(self.runs.get(r) or 30.0 for r in runs)
            body["start"] = round(self.rng.uniform(0, duration / 2), 2)
            body["end"] = round(body["start"] + self.rng.uniform(2, duration / 2), 2)
        if self.rng.random() < 0.2:
            body.update(resample_hz=self.rng.choice((10, 50, 100)), interp=self.rng.choice(("hold", "linear")))
        if body["format"] == "mat" and self.rng.random() < 0.3:
            body["layout"] = "pairs"
        accepted = self.send("POST", "/api/v1/exports", "/api/v1/exports", body)
        if not accepted:
            return
        job_id = accepted["id"]
        journal("export_started", id=job_id, request=body, user=self.role)
        deadline = time.monotonic() + float(_config.get("export_timeout_s", 120))
        # The web page follows the server-sent events; scripts poll the status.
        follow = self.follow_events if self.rng.random() < 0.5 else self.poll
        status = follow(job_id, deadline)
        if status is None:
            journal("export_given_up", id=job_id)  # the runner's check follows it further
            return
        if status["status"] == "failed":
            journal("export_failed", id=job_id, reason=status.get("reason"))
            return
        with self.client.get(status["file_url"], name="/api/v1/exports/{id}/file", headers=self.auth,
                             catch_response=True) as r:
            if r.status_code != 200 or not r.content:
                r.failure(f"HTTP {r.status_code}, {len(r.content or b'')} bytes")
                return
            journal("export_downloaded", id=job_id, bytes=len(r.content), expected=status.get("size"))

    def poll(self, job_id: str, deadline: float) -> dict[str, Any] | None:
        while time.monotonic() < deadline:
            time.sleep(1.0)
            status = self.get(f"/api/v1/exports/{job_id}", "/api/v1/exports/{id}")
            if status and status["status"] in ("done", "failed"):
                return dict(status)
        return None

    def follow_events(self, job_id: str, deadline: float) -> dict[str, Any] | None:
        """`/events` until its `done` or `failed` event (Locust times the first byte)."""
        final: dict[str, Any] | None = None
        url = f"/api/v1/exports/{job_id}/events"
        with self.client.get(url, name="/api/v1/exports/{id}/events", headers=self.auth, stream=True,
                             catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
                return None
            buffer = ""
            # Read to the end even after the last event: the server closes the stream
            # then, and the connection goes back to the pool clean.
            for chunk in r.iter_content(4096):
                buffer += chunk if isinstance(chunk, str) else chunk.decode("utf-8", "replace")
                buffer = buffer.replace("\r\n", "\n")
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    event = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                    if event.get("event") in ("done", "failed"):
                        final = json.loads(event["data"])
                    elif event.get("event") == "error":
                        r.failure(f"error event: {event.get('data')}")
                if time.monotonic() > deadline:
                    break
        return final


class Viewer(Person):
    weight = 3
    role = "viewer"


class Editor(Person):
    weight = 1
    role = "editor"

    def on_start(self) -> None:
        super().on_start()
        if _config.get("every_job_once"):
            self.edit()

    @task(1)
    def edit(self) -> None:
        """Notes and tags on a run (ingest applies the command)."""
        run_id = self.pick_run()
        notes = f"load {uuid.uuid4().hex[:12]}"
        body = {"notes": notes, "tags": self.rng.sample(TAGS, k=self.rng.randint(0, 3))}
        accepted = self.send("PATCH", f"/api/v1/runs/{run_id}", "/api/v1/runs/{id}", body)
        if accepted:
            journal("edit_accepted", run_id=run_id, notes=notes, command_id=accepted.get("command_id"))


class Uploader(FastHttpUser):
    """The stream of new files ingest digests while people use the API."""

    fixed_count = 1

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {_config['tokens']['uploader']}"}
        self.files: list[dict[str, Any]] = list(_config["uploads"])
        self.every = float(_config["upload_every_s"])
        self.next_at = time.monotonic()
        # No upload starts in the last seconds: Locust kills users at --run-time, and an
        # upload cut off by the test's end must not be mistaken for one the API lost.
        self.until = time.monotonic() + float(_config["run_time_s"]) - float(_config["upload_margin_s"])

    def wait_time(self) -> float:
        return max(0.0, self.next_at - time.monotonic())

    @task
    def upload(self) -> None:
        self.next_at = time.monotonic() + self.every
        if not self.files or time.monotonic() > self.until:
            return  # the stream is used up, or the end is near: nothing more to send
        item = self.files.pop(0)
        data = Path(item["path"]).read_bytes()
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{item["name"]}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        body = head + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {**self.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        journal("upload_sent", sha256=item["sha256"], name=item["name"])
        # FastHttpSession sends bytes as they are (its annotation names only str and dict).
        with self.client.post(
            "/api/v1/uploads", data=body, headers=headers, name="/api/v1/uploads", catch_response=True,  # type: ignore[arg-type]
        ) as r:
            if r.status_code != 202:
                r.failure(f"HTTP {r.status_code}: {(r.text or '')[:200]}")
                journal("upload_refused", sha256=item["sha256"], name=item["name"], status=r.status_code)
                return
            answer = r.json()
            if answer.get("id") != item["sha256"]:
                r.failure(f"id {answer.get('id')} is not the file's SHA-256 {item['sha256']}")
            journal("upload_accepted", sha256=item["sha256"], id=answer.get("id"), name=item["name"],
                    file_kind=item["kind"], duplicate=answer.get("duplicate"))
