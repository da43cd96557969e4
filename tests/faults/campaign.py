"""The campaign: private servers, the services, a steady workload, the schedule, the checker.

Bounded everywhere: each phase has a fixed length, each wait for the system to settle
has a deadline, and the whole run ends by itself (a full run takes about 12 minutes
on a 2-core machine, `--quick` about 5).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
from pymongo import MongoClient

from pitwall.devstack.endpoints import settings_env
from tests.faults.checker import COLUMNS, Checker, Report, declare_tap
from tests.faults.faults import Ctx, Disk, Fault, Row, schedule
from tests.faults.fleet import Fleet
from tests.faults.selfcheck import prove
from tests.faults.servers import PrivateServers
from tests.faults.workload import Entry, Workload

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench" / "out"


@dataclass(frozen=True)
class Timing:
    baseline_s: float = 20.0  # workload alone first: runs to export and edit
    lead_s: float = 3.0  # workload before each fault
    outage_s: float = 30.0  # how long a server stays stopped, a disk stays full
    kill_gap_s: float = 2.0  # from SIGKILL to the restart
    recovery_s: float = 20.0  # workload after each fault, before the next one
    settle_s: float = 60.0  # at most this long for queues to drain after each row
    quiesce_s: float = 240.0  # at most this long for everything accepted to end, at the end

    @classmethod
    def quick(cls) -> Timing:
        return cls(baseline_s=12.0, lead_s=2.0, outage_s=10.0, recovery_s=8.0, settle_s=40.0, quiesce_s=180.0)


class Campaign:
    def __init__(self, timing: Timing, out: Path = OUT) -> None:
        self.timing = timing
        self.out = out
        self.logdir = out / "faults"
        self.t0 = time.monotonic()
        self.lines: list[str] = []

    def log(self, text: str) -> None:
        line = f"[{time.monotonic() - self.t0:7.1f} s] {text}"
        self.lines.append(line)
        print(line, flush=True)

    # -- the whole run ----------------------------------------------------------------
    def run(self) -> Report:
        shutil.rmtree(self.logdir, ignore_errors=True)
        self.logdir.mkdir(parents=True)
        root = Path(tempfile.mkdtemp(prefix="pitwall-faults-"))
        servers = fleet = workload = None
        disk = Disk(root / "svcdata")
        try:
            servers = PrivateServers.start(root / "servers", REPO)
            self.log(f"servers up: MongoDB {servers.mongo_url}, S3 {servers.s3_endpoint}, "
                     f"RabbitMQ 127.0.0.1:{servers.amqp_ports[0]} (private node)")
            if not disk.mounted:
                self.log(f"no tmpfs for the disk faults ({disk.why_not}): they are left out")
            settings = servers.endpoints().settings(mongo_db="pitwall_faults", bucket_prefix="faults-",
                                                    data_dir=disk.path)
            env = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
            env |= settings_env(settings) | {"PYTHONUNBUFFERED": "1"}
            asyncio.run(declare_tap(settings))
            fleet = Fleet(env, self.logdir)
            fleet.start()
            self.log(f"services up: {', '.join(fleet.members)} (API {fleet.base_url})")
            token = self._token(settings)
            workload = Workload(fleet.base_url, token, root / "files").start()
            ctx = Ctx(servers, fleet, disk, self.log, burst=workload.burst)
            rows = schedule(disk.mounted)
            self._phase(workload, fleet, "baseline (no fault)")
            time.sleep(self.timing.baseline_s)
            for row in rows:
                self._row(ctx, workload, row, settings)
            self._phase(workload, fleet, "end")
            workload.stop()
            self.log("workload stopped; waiting for everything accepted to end")
            settled = self._quiesce(settings, workload.ledger.snapshot(), self.timing.quiesce_s)
            self.log(f"quiesced after {settled:.1f} s" if settled >= 0 else "did NOT quiesce within the bound")
            workload.ledger.write(self.logdir / "ledger.jsonl")
            report = Checker(settings, fleet.base_url, token).check(workload.ledger.snapshot(), fleet.health())
            report.info["wall_s"] = round(time.monotonic() - self.t0, 1)
            proof = prove(settings, fleet.base_url, token, workload.ledger.snapshot(), fleet.health())
            blind = [c for c, n in proof.items() if n == 0]
            report.info["self_check"] = proof
            self.log("checker self-check: "
                     + ("each planted problem was counted" if not blind else f"BLIND in {', '.join(blind)}"))
            if blind:
                report.problems.append({"phase": "self-check", "column": "checker",
                                        "what": f"planted problems not counted: {blind}"})
            report.info["disk_faults"] = ("tmpfs (mount -t tmpfs) under PITWALL_DATA_DIR" if disk.mounted
                                          else f"not possible: {disk.why_not}")
            (self.logdir / "problems.json").write_text(json.dumps(report.problems, indent=1, default=str))
            (self.logdir / "info.json").write_text(json.dumps(report.info, indent=1, default=str))
            md = render(rows, workload.ledger.snapshot(), report, self.timing)
            (self.out / "faults.md").write_text(md)
            (self.logdir / "campaign.log").write_text("\n".join(self.lines) + "\n")
            print(md)
            return report
        finally:
            if workload is not None:
                workload.stop()
            if fleet is not None:
                fleet.stop()
            if servers is not None:
                servers.stop_all()
            disk.release()
            if servers is not None:
                shutil.copytree(servers.logs, self.logdir / "servers", dirs_exist_ok=True)
            shutil.rmtree(root, ignore_errors=True)

    def _phase(self, workload: Workload, fleet: Fleet, name: str) -> None:
        workload.phase = fleet.phase = name
        self.log(f"== {name}")

    def _row(self, ctx: Ctx, workload: Workload, row: Row, settings: Any) -> None:
        t = self.timing
        self._phase(workload, ctx.fleet, row.name)
        time.sleep(t.lead_s)
        began: list[Fault] = []
        try:
            for fault in row.faults:
                try:
                    fault.begin(ctx)
                except Exception as exc:  # e.g. a remount refused: say so, go on with the rest
                    self.log(f"{fault.name}: NOT injected ({exc})")
                    row.note = f"{row.note}; {fault.name} NOT injected".strip("; ")
                    continue
                began.append(fault)
                if not fault.lasts:
                    time.sleep(t.kill_gap_s)
            if any(f.lasts for f in began):
                time.sleep(t.outage_s)
        finally:
            # Killed services start again first, while an outage may still last (as a
            # supervisor would bring them back: they must wait for the server), then
            # the servers come back in reverse order, then the services must be ready.
            for fault in sorted(reversed(began), key=lambda f: f.lasts):
                fault.end(ctx)
            for fault in began:
                if fault.ready is not None:
                    fault.ready(ctx)
        time.sleep(t.recovery_s)
        settled = self._quiesce(settings, None, t.settle_s)
        self.log(f"settled after {settled:.1f} s" if settled >= 0
                 else f"queues not empty after {t.settle_s:.0f} s, going on")

    # -- waiting for the system -------------------------------------------------------
    def _quiesce(self, settings: Any, ledger: list[Entry] | None, bound: float) -> float:
        """Seconds until the work queues are empty (and, given a ledger, every accepted
        upload is a catalogued run and every accepted export ended); -1 at the bound."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < bound:
            try:
                if asyncio.run(_queues_empty(settings)) and (ledger is None or _all_ended(settings, ledger)):
                    return time.monotonic() - t0
            except Exception:  # a server still coming back: ask again
                pass
            time.sleep(1.0)
        return -1.0

    def _token(self, settings: Any) -> str:
        from pitwall.common import db
        from pitwall.common import tokenstore as tokens

        async def make() -> str:
            client = db.make_client(settings)
            try:
                _info, secret = await tokens.create(db.database(client, settings)["tokens"], "admin", "fault-campaign")
                return secret
            finally:
                await client.close()

        return asyncio.run(make())


async def _queues_empty(settings: Any) -> bool:
    conn = await aio_pika.connect(settings.amqp_url, timeout=5)
    try:
        ch = await conn.channel()
        for service in ("ingest", "converter"):
            q = await ch.declare_queue(f"{settings.exchange}.{service}", passive=True)
            if q.declaration_result.message_count:
                return False
            for name in await _retry_queues(ch, settings, service):
                if name.declaration_result.message_count:
                    return False
        return True
    finally:
        await conn.close()


async def _retry_queues(ch: Any, settings: Any, service: str) -> list[Any]:
    out = []
    for delay in settings.retry_backoff_s:
        out.append(await ch.declare_queue(f"{settings.exchange}.{service}.retry.{int(delay * 1000)}ms", passive=True))
    return out


def _all_ended(settings: Any, ledger: list[Entry]) -> bool:
    uploads = list({e.run_id for e in ledger if e.op == "upload" and e.accepted})
    jobs = [e.job_id for e in ledger if e.op == "export" and e.accepted]
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=3000)
    try:
        db = client[settings.mongo_db]
        ended_runs = db.runs.count_documents({"_id": {"$in": uploads},
                                              "status": {"$in": ["ready", "recovered", "rejected"]}})
        ended_jobs = db.jobs.count_documents({"_id": {"$in": jobs}, "status": {"$in": ["done", "failed"]}})
        pending = db.outbox.count_documents({"published_at": None})
        return ended_runs == len(uploads) and ended_jobs == len(jobs) and pending == 0
    finally:
        client.close()


# -- the matrix -----------------------------------------------------------------------------
SHORT = {
    "lost_uploads": "lost uploads", "wrong_verdict": "wrong verdict", "duplicates": "duplicates",
    "runs_without_object": "runs w/o object", "unfinished_exports": "exports not ended",
    "finished_twice": "jobs ended twice", "lost_edits": "lost edits", "silent_dead_letters": "silent DLQ",
    "crash_loops": "crash loops",
}


def _accepted(entries: list[Entry], op: str) -> str:
    tried = [e for e in entries if e.op == op]
    return f"{sum(e.accepted for e in tried)}/{len(tried)}"


def render(rows: list[Row], ledger: list[Entry], report: Report, timing: Timing) -> str:
    phases = ["baseline (no fault)", *(r.name for r in rows), "end"]
    notes = {r.name: r.note for r in rows}
    head = ["fault", "uploads ok/tried", "exports ok/tried", "edits ok/tried", *(SHORT[c] for c in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    extra = [p for p in report.counts if p not in phases]
    for phase in [*phases, *extra]:
        entries = [e for e in ledger if e.phase == phase]
        label = phase + (f" ({notes[phase]})" if notes.get(phase) else "")
        cells = [label, _accepted(entries, "upload"), _accepted(entries, "export"), _accepted(entries, "edit")]
        counts = report.counts.get(phase)
        cells += [str(counts[c] if counts else 0) for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    total = ["**total**", _accepted(ledger, "upload"), _accepted(ledger, "export"), _accepted(ledger, "edit")]
    total += [f"**{report.total(c)}**" for c in COLUMNS]
    lines.append("| " + " | ".join(total) + " |")
    info = report.info
    dl = info.get("dead_letters", {})
    summary = [
        f"Wall time {info.get('wall_s')} s; outages {timing.outage_s:.0f} s, "
        f"recovery {timing.recovery_s:.0f} s per row. "
        f"Runs catalogued: {info.get('runs_catalogued')} "
        f"(distinct uploads accepted: {info.get('uploads_accepted_distinct')}). "
        f"Dead-lettered messages: {', '.join(f'{k} {v}' for k, v in dl.items())} (each checked for a visible failure). "
        f"Job ends seen on the bus: {info.get('job_end_events')} "
        f"({info.get('job_end_events_repeated')} repeated deliveries of the same end). "
        f"Disk faults: {info.get('disk_faults')}.",
        "",
        "Services at the end: " + ", ".join(
            f"{k} {'ready' if v['ready'] else 'NOT ready'} "
            f"(starts {v['starts']}, killed {v['kills']}, unexpected exits {v['unexpected_exits']})"
            for k, v in info.get("services", {}).items()
        ) + ".",
        "",
        "Refused requests (`ok/tried` below `tried`) are answers, not losses: 503 while a server is away, "
        "422 for the file that is not MCAP. "
        "Answers over the whole run: "
        + ", ".join(f"{k} ×{v}" for k, v in sorted(Counter(str(e.status) for e in ledger).items())) + ".",
    ]
    legend = ["", "| column | counts |", "|---|---|", *(f"| {SHORT[c]} | {d} |" for c, d in COLUMNS.items())]
    proof = info.get("self_check") or {}
    summary += ["", "Checker self-check (one problem planted per column after the run, then checked again): "
                + ", ".join(f"{SHORT[c]} {n}" for c, n in proof.items()) + "."]
    verdict = "every count 0" if report.ok else f"{len(report.problems)} problem(s): see bench/out/faults/problems.json"
    return "\n".join([f"#### fault campaign: {verdict}", "", *lines, "", *summary, *legend, ""])
