"""Runs for the people to open: synth files uploaded through the API, digested by ingest.

The real path end to end (multipart upload -> S3 -> `file.uploaded` -> ingest: run
document, laps, signal statistics, signal store), so every route has real data behind it.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.load.synthfiles import SynthFile

FINAL = ("ready", "recovered", "rejected")


def upload(client: httpx.Client, item: SynthFile) -> str:
    """`POST /api/v1/uploads`; the run id (the file's SHA-256)."""
    with item.path.open("rb") as fh:
        response = client.post("/api/v1/uploads", files={"file": (item.name, fh, "application/octet-stream")})
    if response.status_code != 202:
        raise RuntimeError(f"upload of {item.name} -> HTTP {response.status_code}: {response.text[:300]}")
    run_id: str = response.json()["id"]
    if run_id != item.sha256:
        raise RuntimeError(f"upload of {item.name}: id {run_id} is not its SHA-256 {item.sha256}")
    return run_id


def lookup(client: httpx.Client, shas: list[str]) -> dict[str, dict[str, Any]]:
    """The runs these hashes became so far (`POST /runs/lookup`, 1000 at a time)."""
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(shas), 1000):
        response = client.post("/api/v1/runs/lookup", json={"sha256": shas[i : i + 1000]})
        response.raise_for_status()
        found.update(response.json()["runs"])
    return found


def wait_for_runs(client: httpx.Client, shas: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    """Until every hash is a catalogued run or `timeout` passed: what was found."""
    deadline = time.monotonic() + timeout
    while True:
        found = {sha: run for sha, run in lookup(client, shas).items() if run.get("status") in FINAL}
        if len(found) == len(set(shas)) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def seed(base_url: str, uploader_token: str, files: list[SynthFile], timeout: float = 600.0) -> dict[str, float]:
    """Upload `files`, wait until each is a readable run: {run id: duration in s}."""
    headers = {"Authorization": f"Bearer {uploader_token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120.0) as client:
        shas = [upload(client, item) for item in files]
        found = wait_for_runs(client, shas, timeout)
        missing = [sha[:12] for sha in shas if sha not in found]
        if missing:
            raise RuntimeError(f"seeded files not catalogued after {timeout:.0f} s: {', '.join(missing)}")
        bad = {sha[:12]: run["status"] for sha, run in found.items() if run["status"] == "rejected"}
        if bad:
            raise RuntimeError(f"seeded files rejected by ingest: {bad}")
        durations = {}
        for sha in shas:
            doc = client.get(f"/api/v1/runs/{sha}")
            doc.raise_for_status()
            durations[sha] = float(doc.json().get("duration_s") or 0.0)
        return durations


def lap_counts(base_url: str, token: str, run_ids: list[str]) -> dict[str, int]:
    """Laps ingest found in each run (the seeded runs are long enough to lap the track)."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0) as client:
        return {r: int(client.get(f"/api/v1/runs/{r}/laps").json()["lap_count"]) for r in run_ids}
