"""The steady client-side workload: uploads, exports and edits through the API, all the time.

Every request and its answer go to the ledger, tagged with the campaign phase (the
fault row) that was running when it was made. What the API *accepted* (202) is what the
checker later holds the system to: an upload's SHA-256, an export's job id, an edit's
command id. Refusals (503 while a server is away, 422 for a file that is not MCAP) are
recorded too; they are answers, not losses.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pitwall.common.contracts.mcap import MAGIC
from pitwall.synth.generator import write_synth

API = "/api/v1"

# kind -> how to make it and what the system must make of it
UPLOAD_KINDS = ("normal", "short", "unchunked", "cut", "corrupt", "not_mcap", "again")
KIND_WEIGHTS = (4, 2, 1, 2, 1, 1, 1)
EXPECTED_STATUS = {
    "normal": {"ready"}, "short": {"ready"}, "unchunked": {"ready"},
    "cut": {"ready", "recovered"}, "corrupt": {"rejected"},
}
SIGNAL_GLOBS = ("VNData:vn_vel.*", "*:motor_temp", "VNData:*", "*speed*", "MCU*:*", "*:soc", "*torque*")
FORMATS = ("mat", "csv", "parquet")


@dataclass
class Entry:
    op: str  # upload | export | edit
    phase: str
    at: float  # seconds since the campaign started
    status: int | None  # HTTP status; None = no answer (connection refused, timeout)
    accepted: bool
    kind: str = ""
    run_id: str = ""  # upload: the local SHA-256; export/edit: the run(s)
    job_id: str = ""
    command_id: str = ""
    detail: str = ""
    notes: str = ""


@dataclass
class Ledger:
    """Append-only, thread-safe; written to JSON lines for the checker and for people."""

    entries: list[Entry] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, entry: Entry) -> None:
        with self._lock:
            self.entries.append(entry)

    def snapshot(self) -> list[Entry]:
        with self._lock:
            return list(self.entries)

    def write(self, path: Path) -> None:
        path.write_text("".join(json.dumps(asdict(e)) + "\n" for e in self.snapshot()))

    @classmethod
    def read(cls, path: Path) -> Ledger:
        return cls([Entry(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()])


class Workload:
    """Three client threads (uploader, exporter, editor) until `stop()`."""

    def __init__(self, base_url: str, token: str, files: Path, *, seed: int = 14, pace_s: float = 1.0) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.files = files
        self.files.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger()
        self.phase = "start"
        self.pace_s = pace_s
        self._rng = random.Random(seed)
        self._seed = 1000
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._t0 = time.monotonic()
        self._ready: list[str] = []  # runs seen ready through the API: what exports and edits use
        self._sent: list[tuple[Path, str]] = []  # files uploaded before, for "again"
        self._lock = threading.Lock()

    # -- control --------------------------------------------------------------------
    def start(self) -> Workload:
        # Paced below what one ingest digests on 2 busy cores (~2 s per 3 MB file), so a
        # backlog comes from faults, not from the workload itself.
        roles = (("uploader", self._uploader, 2.5), ("exporter", self._exporter, 2.0), ("editor", self._editor, 1.5))
        for name, fn, pace in roles:
            t = threading.Thread(target=self._loop, args=(fn, pace * self.pace_s), name=f"workload-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(120)

    def burst(self, exports: int = 6, uploads: int = 3) -> None:
        """A few requests at once, from the caller's thread: work in flight for a fault."""
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=30.0) as http:
            for _ in range(uploads):
                self._uploader(http)
            for _ in range(exports):
                self._exporter(http)

    def _loop(self, step: Any, pace_s: float) -> None:
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=30.0) as http:
            while not self._stop.is_set():
                try:
                    step(http)
                except Exception as exc:  # the workload must outlive any answer it gets
                    self.ledger.add(Entry("error", self.phase, self._now(), None, False, detail=repr(exc)[:300]))
                self._stop.wait(pace_s * (0.5 + self._rng.random()))

    def _now(self) -> float:
        return round(time.monotonic() - self._t0, 2)

    def _request(self, http: httpx.Client, method: str, path: str, **kw: Any) -> tuple[int | None, Any]:
        try:
            r = http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, r.text[:300]

    # -- uploads --------------------------------------------------------------------
    def make_file(self, kind: str) -> Path:
        with self._lock:
            self._seed += 1
            seed = self._seed
        path = self.files / f"{kind}-{seed}.mcap"
        if kind in ("normal", "unchunked", "cut"):
            write_synth(path, minutes=0.05, seed=seed, chunked=kind != "unchunked", truncate=kind == "cut")
        elif kind == "short":
            write_synth(path, minutes=0.01, seed=seed)
        elif kind == "corrupt":  # starts like MCAP, then noise: the API takes it, ingest must reject it
            path.write_bytes(MAGIC + random.Random(seed).randbytes(200_000))
        elif kind == "not_mcap":  # refused by the API with a reason, before anything is stored
            path.write_bytes(b"PK\x03\x04 not a recording " + random.Random(seed).randbytes(5000))
        else:
            raise ValueError(kind)
        return path

    def _uploader(self, http: httpx.Client) -> None:
        kind = self._rng.choices(UPLOAD_KINDS, KIND_WEIGHTS)[0]
        with self._lock:
            sent = list(self._sent)
        if kind == "again" and sent:
            path, first_kind = self._rng.choice(sent)
        else:
            kind = "normal" if kind == "again" else kind
            path, first_kind = self.make_file(kind), kind
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        with open(path, "rb") as fh:
            status, body = self._request(http, "POST", f"{API}/uploads",
                                         files={"file": (path.name, fh, "application/octet-stream")})
        accepted = status == 202 and isinstance(body, dict) and body.get("id") == sha
        detail = json.dumps(body)[:300] if not isinstance(body, str) else body
        label = kind if kind != "again" else f"again:{first_kind}"
        self.ledger.add(Entry("upload", self.phase, self._now(), status, accepted, kind=label, run_id=sha,
                              detail=detail))
        if accepted and kind != "again":
            with self._lock:
                self._sent.append((path, first_kind))

    def _refresh_ready(self, http: httpx.Client) -> list[str]:
        status, body = self._request(http, "GET", f"{API}/runs", params={"status": "ready", "limit": "100"})
        if status == 200 and isinstance(body, dict):
            with self._lock:
                self._ready = [r["id"] for r in body.get("items", [])]
        with self._lock:
            return list(self._ready)

    # -- exports --------------------------------------------------------------------
    def _exporter(self, http: httpx.Client) -> None:
        ready = self._refresh_ready(http)
        if not ready:
            return
        runs = self._rng.sample(ready, k=min(len(ready), self._rng.choice((1, 1, 1, 2))))
        body: dict[str, Any] = {
            "runs": runs, "format": self._rng.choice(FORMATS),
            "signals": self._rng.sample(SIGNAL_GLOBS, k=self._rng.randint(1, 3)),
        }
        if self._rng.random() < 0.3:
            body["start"], body["end"] = 0.5, 2.0
        if self._rng.random() < 0.1:
            body["signals"] = ["NoSuchTopic:nothing"]  # must be refused at once: a 422 naming the glob
        status, answer = self._request(http, "POST", f"{API}/exports", json=body)
        accepted = status == 202 and isinstance(answer, dict) and bool(answer.get("id"))
        job = answer.get("id", "") if isinstance(answer, dict) else ""
        self.ledger.add(Entry(
            "export", self.phase, self._now(), status, accepted, kind=body["format"], run_id=",".join(runs), job_id=job,
            detail=json.dumps(body)[:300] if accepted else str(answer)[:300],
        ))

    # -- edits ----------------------------------------------------------------------
    def _editor(self, http: httpx.Client) -> None:
        with self._lock:
            ready = list(self._ready)
        if not ready:
            return
        run = self._rng.choice(ready)
        notes = f"fault campaign edit {self._now()} ({self.phase})"
        body: dict[str, Any] = {"notes": notes}
        if self._rng.random() < 0.5:
            body["tags"] = [self.phase[:60] or "phase", "faults"]
        status, answer = self._request(http, "PATCH", f"{API}/runs/{run}", json=body)
        accepted = status == 202 and isinstance(answer, dict) and bool(answer.get("command_id"))
        self.ledger.add(Entry(
            "edit", self.phase, self._now(), status, accepted, run_id=run,
            command_id=answer.get("command_id", "") if isinstance(answer, dict) else "", notes=notes,
            detail="" if accepted else str(answer)[:300],
        ))
