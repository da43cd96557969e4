"""After the load: did every job the API accepted end, and end well? (through the API only)

- every export started ends `done` and its file downloads (the size the job reports),
  or `failed` with a reason; one still queued/running after the drain is never finished;
- every upload accepted (202) becomes a catalogued run (ready, recovered or rejected with
  its reason); one that never does is lost;
- every run an editor changed shows the notes of one of the edits sent for it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.load.seeding import lookup, wait_for_runs


@dataclass
class JobCheck:
    exports_started: int = 0
    exports_done: int = 0
    exports_failed: int = 0  # with a reason: a job that ended, not a lost one
    exports_failed_silently: int = 0  # failed without a reason
    exports_unfinished: int = 0
    exports_undownloadable: int = 0
    exports_downloaded_in_load: int = 0
    uploads_sent: int = 0
    uploads_accepted: int = 0
    uploads_unanswered: int = 0  # sent, no answer recorded (connection cut, user stopped)
    uploads_unanswered_lost: int = 0  # ... and no run either
    uploads_refused: int = 0
    runs_by_status: dict[str, int] = field(default_factory=dict)
    uploads_lost: int = 0
    edits_accepted: int = 0
    runs_edited: int = 0
    edits_lost: int = 0  # runs whose notes show none of the edits sent for them
    failed_reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return (self.exports_failed_silently + self.exports_unfinished + self.exports_undownloadable
                + self.uploads_lost + self.uploads_unanswered_lost + self.uploads_refused + self.edits_lost)


def check_jobs(
    base_url: str, tokens: dict[str, str], journal: list[dict[str, Any]], drain_s: float = 180.0
) -> JobCheck:
    out = JobCheck()
    deadline = time.monotonic() + drain_s
    viewer = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {tokens['viewer']}"}, timeout=120.0)
    uploader = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {tokens['uploader']}"}, timeout=60.0)
    with viewer, uploader:
        _uploads(out, uploader, journal, deadline)
        _exports(out, viewer, journal, deadline)
        _edits(out, viewer, journal, deadline)
    return out


def _uploads(out: JobCheck, client: httpx.Client, journal: list[dict[str, Any]], deadline: float) -> None:
    sent = [e["sha256"] for e in journal if e["kind"] == "upload_sent"]
    accepted = [e["sha256"] for e in journal if e["kind"] == "upload_accepted"]
    refused = [e for e in journal if e["kind"] == "upload_refused"]
    out.uploads_sent, out.uploads_accepted, out.uploads_refused = len(sent), len(accepted), len(refused)
    for e in refused:
        out.problems.append(f"upload {e['name']} refused: HTTP {e['status']}")
    found = wait_for_runs(client, accepted, max(1.0, deadline - time.monotonic()))
    for run in found.values():
        out.runs_by_status[run["status"]] = out.runs_by_status.get(run["status"], 0) + 1
    lost = [sha for sha in dict.fromkeys(accepted) if sha not in found]
    out.uploads_lost = len(lost)
    out.problems += [f"upload {sha[:12]} accepted but never catalogued" for sha in lost]
    # Sent but no answer recorded (connection cut, user stopped mid-request): lost only
    # if the server kept nothing either.
    answered = set(accepted) | {e["sha256"] for e in refused}
    unanswered = [sha for sha in dict.fromkeys(sent) if sha not in answered]
    if unanswered:
        kept = lookup(client, unanswered)
        out.uploads_unanswered = len(unanswered)
        gone = [sha for sha in unanswered if sha not in kept]
        out.uploads_unanswered_lost = len(gone)
        out.problems += [f"upload {sha[:12]} sent, no answer, and no run" for sha in gone]


def _exports(out: JobCheck, client: httpx.Client, journal: list[dict[str, Any]], deadline: float) -> None:
    started = [e["id"] for e in journal if e["kind"] == "export_started"]
    downloaded = {e["id"]: e for e in journal if e["kind"] == "export_downloaded"}
    out.exports_started = len(started)
    out.exports_downloaded_in_load = len(downloaded)
    pending = list(dict.fromkeys(started))
    while pending:
        still = []
        for job_id in pending:
            response = client.get(f"/api/v1/exports/{job_id}")
            status = response.json() if response.status_code == 200 else {"status": f"HTTP {response.status_code}"}
            state = status.get("status")
            if state == "done":
                out.exports_done += 1
                got = downloaded.get(job_id)
                if got is None or got.get("bytes") != status.get("size"):
                    _download(out, client, job_id, status)
            elif state == "failed":
                if status.get("reason"):
                    out.exports_failed += 1
                    out.failed_reasons.append(str(status["reason"])[:200])
                else:
                    out.exports_failed_silently += 1
                    out.problems.append(f"export {job_id} failed without a reason")
            else:
                still.append(job_id)
        pending = still
        if pending and time.monotonic() > deadline:
            out.exports_unfinished = len(pending)
            out.problems += [f"export {job_id} never finished" for job_id in pending]
            return
        if pending:
            time.sleep(1.0)


def _download(out: JobCheck, client: httpx.Client, job_id: str, status: dict[str, Any]) -> None:
    size = 0
    with client.stream("GET", f"/api/v1/exports/{job_id}/file") as response:
        if response.status_code == 200:
            for chunk in response.iter_bytes():
                size += len(chunk)
    if response.status_code != 200 or size == 0 or size != status.get("size"):
        out.exports_undownloadable += 1
        out.problems.append(f"export {job_id} done but its file: HTTP {response.status_code}, {size} of "
                            f"{status.get('size')} bytes")


def _edits(out: JobCheck, client: httpx.Client, journal: list[dict[str, Any]], deadline: float) -> None:
    sent: dict[str, set[str]] = defaultdict(set)
    for e in journal:
        if e["kind"] == "edit_accepted":
            sent[e["run_id"]].add(e["notes"])
    out.edits_accepted = sum(len(v) for v in sent.values())
    out.runs_edited = len(sent)
    pending = dict(sent)
    while pending:
        for run_id in list(pending):
            response = client.get(f"/api/v1/runs/{run_id}")
            if response.status_code == 200 and response.json().get("notes") in pending[run_id]:
                del pending[run_id]
        if pending and time.monotonic() > deadline:
            out.edits_lost = len(pending)
            out.problems += [f"run {run_id[:12]} shows none of the {len(sent[run_id])} edit(s) sent"
                             for run_id in pending]
            return
        if pending:
            time.sleep(0.5)
