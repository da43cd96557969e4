"""Locust as a child process (headless, bounded), and what it leaves: stats, codes, journal.

Locust patches the standard library with gevent when imported, so it never runs in
this process: `locust -f bench/load/locustfile.py` reads a JSON config we write and
writes its CSV stats, the status codes per endpoint and a journal of accepted jobs.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load.synthfiles import SynthFile

LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")


@dataclass(frozen=True)
class Plan:
    users: int = 20  # people on the API (3 viewers : 1 editor); the uploader comes on top
    spawn_rate: float = 5.0
    run_time_s: int = 120
    upload_every_s: float = 4.0
    export_timeout_s: float = 120.0  # how long a person follows one export
    every_job_once: bool = False  # each user starts with an export (editors: and an edit)


@dataclass(frozen=True)
class Endpoint:
    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    codes: dict[str, int] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.codes.items() if int(code) >= 500)

    @property
    def no_response(self) -> int:
        return self.codes.get("0", 0)


@dataclass
class LocustResult:
    returncode: int | None
    endpoints: list[Endpoint]
    total: Endpoint | None
    journal: list[dict[str, Any]]
    failures: list[dict[str, str]]
    log: Path

    @property
    def server_errors(self) -> int:
        return sum(e.server_errors for e in self.endpoints)

    def accepted(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.journal if e["kind"] == kind]


def locust_argv(host: str, plan: Plan, config: Path, csv_prefix: Path) -> list[str]:
    beside = Path(sys.executable).with_name("locust")
    locust = [str(beside)] if beside.exists() else [sys.executable, "-m", "locust"]
    return [
        *locust, "-f", str(LOCUSTFILE), "--headless", "--host", host,
        "-u", str(plan.users + 1), "-r", str(plan.spawn_rate), "--run-time", f"{plan.run_time_s}s",
        "--csv", str(csv_prefix), "--only-summary", "--loglevel", "WARNING",
        "--exit-code-on-error", "0", "--pitwall-config", str(config),
    ]


def run_locust(
    host: str, tokens: dict[str, str], runs: dict[str, float], uploads: list[SynthFile], plan: Plan, out: Path,
    on_start: Any = None,
) -> LocustResult:
    """Run the users against `host` for `plan.run_time_s`; `on_start(pid)` once Locust runs."""
    from pitwall.devstack.process import ManagedProcess

    if not runs:
        raise ValueError("the users need at least one run to open")
    out.mkdir(parents=True, exist_ok=True)
    journal, codes, csv_prefix = out / "journal.jsonl", out / "codes.json", out / "locust"
    for stale in (journal, codes, *out.glob("locust_*.csv")):
        stale.unlink(missing_ok=True)
    config = out / "config.json"
    config.write_text(json.dumps({
        "tokens": tokens, "runs": runs, "journal": str(journal), "codes_out": str(codes),
        "uploads": [{"path": str(f.path), "sha256": f.sha256, "name": f.name, "kind": f.kind} for f in uploads],
        "upload_every_s": plan.upload_every_s, "export_timeout_s": plan.export_timeout_s,
        "run_time_s": plan.run_time_s, "upload_margin_s": min(10.0, plan.run_time_s / 4),
        "every_job_once": plan.every_job_once,
    }, indent=1))
    log = out / "locust.log"
    log.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    proc = ManagedProcess("locust", locust_argv(host, plan, config, csv_prefix), env=env, log_path=log).start()
    try:
        if on_start is not None and proc.pid is not None:
            on_start(proc.pid)
        # Locust stops itself at --run-time; the margin covers start-up and writing the CSVs.
        returncode = proc.wait(timeout=plan.run_time_s + 60)
    finally:
        if proc.alive:
            proc.stop()
    return read_results(out, returncode, log)


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")  # "N/A" when an endpoint saw no request


def read_results(out: Path, returncode: int | None, log: Path) -> LocustResult:
    stats_csv = out / "locust_stats.csv"
    if not stats_csv.exists():
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"Locust wrote no stats (exit {returncode}); its log:\n{tail}")
    codes_path = out / "codes.json"
    codes: dict[str, dict[str, int]] = json.loads(codes_path.read_text()) if codes_path.exists() else {}
    endpoints, total = [], None
    with stats_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            method, name = row["Type"], row["Name"]
            ep = Endpoint(
                method, name, int(row["Request Count"]), int(row["Failure Count"]), _float(row["Requests/s"]),
                _float(row["50%"]), _float(row["95%"]), _float(row["99%"]), _float(row["Max Response Time"]),
                codes.get(f"{method} {name}", {}),
            )
            if name == "Aggregated":
                total = Endpoint(**{**ep.__dict__, "codes": _merge(codes.values())})
            else:
                endpoints.append(ep)
    failures = []
    failures_csv = out / "locust_failures.csv"
    if failures_csv.exists():
        with failures_csv.open(newline="") as fh:
            failures = list(csv.DictReader(fh))
    journal_path = out / "journal.jsonl"
    journal = ([json.loads(line) for line in journal_path.read_text().splitlines() if line.strip()]
               if journal_path.exists() else [])
    return LocustResult(returncode, endpoints, total, journal, failures, log)


def _merge(parts: Any) -> dict[str, int]:
    merged: dict[str, int] = {}
    for part in parts:
        for code, n in part.items():
            merged[code] = merged.get(code, 0) + n
    return merged
