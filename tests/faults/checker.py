"""The independent checker: what the system holds after the campaign, against what it accepted.

It reads only MongoDB, S3, the API and the broker's queues (the dead-letter queues,
and a tap queue of its own on `conversion.completed`/`conversion.failed`), plus the
workload's ledger of what the API accepted. It imports no service code (only the shared
settings and S3 client): the names it knows (collections, keys, queue names) are the
system's documented layout.

Every count is meant to be 0. Each problem is attributed to the campaign phase (fault
row) in which the operation it concerns was accepted.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import httpx
from pymongo import MongoClient

from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore
from tests.faults.workload import EXPECTED_STATUS, Entry

TERMINAL_RUN = {"ready", "recovered", "rejected"}
TERMINAL_JOB = {"done", "failed"}
CONSUMING = ("ingest", "converter")
TAP_KEYS = ("conversion.completed", "conversion.failed")

COLUMNS = {
    "lost_uploads": "accepted upload (202) without a catalogued run (ready, recovered or rejected)",
    "wrong_verdict": "run whose status does not fit its file (garbage made ready, a good file rejected) "
                     "or rejected without a reason",
    "duplicates": "a run's upload recorded twice, or a signal row written twice",
    "runs_without_object": "catalogued run whose MCAP is missing in S3 (or, if ready, its signal-store manifest)",
    "unfinished_exports": "accepted export not `done`/`failed`, failed without a reason, "
                          "or done without its file in S3",
    "finished_twice": "job that ended both done and failed, with two different results, or stored unlike its first end",
    "lost_edits": "accepted edit (202) not in its run's history exactly once",
    "silent_dead_letters": "message in a dead-letter queue whose failure nobody can see "
                           "(no rejected run, no failed job)",
    "crash_loops": "service exits nobody caused, or a service not alive and ready at the end",
}


def tap_queue_name(settings: Settings) -> str:
    return f"{settings.exchange}.faults-checker.tap"


async def declare_tap(settings: Settings) -> None:
    """Before the workload starts: every job end published from now on is kept for us."""
    conn = await aio_pika.connect(settings.amqp_url, timeout=10)
    try:
        ch = await conn.channel()
        ex = await ch.declare_exchange(settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        q = await ch.declare_queue(tap_queue_name(settings), durable=True, arguments={"x-queue-type": "quorum"})
        for key in TAP_KEYS:
            await q.bind(ex, key)
    finally:
        await conn.close()


async def _read_queues(settings: Settings) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Dead-letter queues read without acking (they stay as they are), the tap drained."""
    conn = await aio_pika.connect(settings.amqp_url, timeout=10)
    dead: dict[str, list[dict[str, Any]]] = {}
    tap: list[dict[str, Any]] = []
    try:
        peek = await conn.channel()
        for service in CONSUMING:
            name = f"{settings.exchange}.{service}.dead"
            q = await peek.declare_queue(name, passive=True)
            items = []
            while (msg := await q.get(no_ack=False, fail=False)) is not None:
                headers = dict(msg.headers or {})
                items.append({
                    "routing_key": _text(headers.get("x-original-routing-key")) or msg.routing_key,
                    "reason": _text(headers.get("x-dead-letter-reason")) or "",
                    "body": json.loads(msg.body),
                })
            dead[service] = items
        await peek.close()  # unacked: back in their queues, untouched
        drain = await conn.channel()
        q = await drain.declare_queue(tap_queue_name(settings), passive=True)
        while (msg := await q.get(no_ack=True, fail=False)) is not None:
            body = json.loads(msg.body)
            # By content, not by routing key: a completed job has a result, a failed one a reason.
            kind = "conversion.completed" if "result_key" in body else "conversion.failed"
            tap.append({"routing_key": kind, "body": body})
    finally:
        await conn.close()
    return dead, tap


def _text(v: Any) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else (str(v) if v else "")


@dataclass
class Report:
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # phase -> column -> n
    problems: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def flag(self, phase: str, column: str, what: str, **detail: Any) -> None:
        self.counts[phase][column] += 1
        self.problems.append({"phase": phase, "column": column, "what": what, **detail})

    def total(self, column: str) -> int:
        return sum(c[column] for c in self.counts.values())

    @property
    def ok(self) -> bool:
        return not self.problems


class Checker:
    def __init__(self, settings: Settings, api_url: str, token: str) -> None:
        self.settings = settings
        self.api_url = api_url
        self.token = token

    def check(self, ledger: list[Entry], health: dict[str, dict[str, Any]]) -> Report:
        report = Report()
        mongo: MongoClient[dict[str, Any]] = MongoClient(self.settings.mongo_url, serverSelectionTimeoutMS=10_000)
        store = ObjectStore(self.settings)
        try:
            db = mongo[self.settings.mongo_db]
            dead, tap = asyncio.run(_read_queues(self.settings))
            auth = {"Authorization": f"Bearer {self.token}"}
            with httpx.Client(base_url=self.api_url, headers=auth, timeout=30) as api:
                self._uploads(report, ledger, db, store)
                self._exports(report, ledger, api, db, store, tap)
                self._edits(report, ledger, db)
                self._dead_letters(report, ledger, dead, db)
            self._processes(report, health)
        finally:
            mongo.close()
        return report

    # -- uploads -> runs ----------------------------------------------------------------
    def _uploads(self, report: Report, ledger: list[Entry], db: Any, store: ObjectStore) -> None:
        accepted: dict[str, Entry] = {}
        for e in ledger:
            if e.op == "upload" and e.accepted:
                accepted.setdefault(e.run_id, e)  # the first acceptance decides the phase and kind
        found = db.runs.find({"_id": {"$in": list(accepted)}}, {"status": 1, "reason": 1, "uploads": 1})
        runs = {d["_id"]: d for d in found}
        for sha, e in accepted.items():
            doc = runs.get(sha)
            if doc is None or doc.get("status") not in TERMINAL_RUN:
                report.flag(e.phase, "lost_uploads", "accepted upload has no catalogued run", run=sha, kind=e.kind,
                            status=doc.get("status") if doc else None)
                continue
            kind = e.kind.split(":")[-1]
            status = doc["status"]
            if (status not in EXPECTED_STATUS.get(kind, TERMINAL_RUN)
                    or (status == "rejected" and not doc.get("reason"))):
                report.flag(e.phase, "wrong_verdict", f"{kind} file ended {status}", run=sha, reason=doc.get("reason"))
            events = Counter(u.get("event_id") for u in doc.get("uploads") or [])
            if any(n > 1 for n in events.values()):
                report.flag(e.phase, "duplicates", "one upload recorded twice in the run", run=sha)
            if status != "rejected":
                if not store.exists(self.settings.bucket_mcap, f"mcap/{sha}.mcap"):
                    report.flag(e.phase, "runs_without_object", "run's MCAP missing in S3", run=sha)
                elif status == "ready" and not store.exists(self.settings.bucket_signals, f"{sha}/manifest.json"):
                    report.flag(e.phase, "runs_without_object", "ready run without its signal-store manifest", run=sha)
        # Signal rows: one per (run, key); a retried ingest must not leave two.
        dupes = db.signals.aggregate([
            {"$group": {"_id": {"run": "$run_id", "key": "$key"}, "n": {"$sum": 1}}},
            {"$match": {"n": {"$gt": 1}}},
            {"$group": {"_id": "$_id.run", "keys": {"$sum": 1}}},
        ])
        for d in dupes:
            first = accepted.get(d["_id"])
            report.flag(first.phase if first else "unattributed", "duplicates",
                        f"{d['keys']} signal rows written twice", run=d["_id"])
        # Catalogued runs nobody uploaded through the API would be phantoms; count as duplicates of nothing.
        report.info["runs_catalogued"] = db.runs.count_documents({})
        report.info["uploads_accepted_distinct"] = len(accepted)
        if "run_summaries" in db.list_collection_names():
            report.info["run_summaries"] = db.run_summaries.count_documents({})

    # -- exports -> jobs ----------------------------------------------------------------
    def _exports(self, report: Report, ledger: list[Entry], api: httpx.Client, db: Any, store: ObjectStore,
                 tap: list[dict[str, Any]]) -> None:
        ends: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for m in tap:
            ends[m["body"].get("job_id", "")].append(m)
        report.info["job_end_events"] = len(tap)
        report.info["job_end_events_repeated"] = sum(len(v) - 1 for v in ends.values() if len(v) > 1)
        for e in ledger:
            if e.op != "export" or not e.accepted:
                continue
            r = api.get(f"/api/v1/exports/{e.job_id}")
            st = r.json() if r.status_code == 200 else {"status": f"HTTP {r.status_code}"}
            status = st.get("status")
            if status not in TERMINAL_JOB:
                report.flag(e.phase, "unfinished_exports", f"export still {status}", job=e.job_id)
            elif status == "failed" and not st.get("reason"):
                report.flag(e.phase, "unfinished_exports", "export failed without a reason", job=e.job_id)
            elif status == "done":
                doc = db.jobs.find_one({"_id": e.job_id}, {"result_key": 1}) or {}
                if not doc.get("result_key") or not store.exists(self.settings.bucket_exports, doc["result_key"]):
                    report.flag(e.phase, "unfinished_exports", "export done but its file is not in S3", job=e.job_id)
            seen = ends.get(e.job_id, [])
            kinds = {m["routing_key"] for m in seen}
            keys = {m["body"].get("result_key") for m in seen if m["routing_key"] == "conversion.completed"}
            if len(kinds) > 1:
                report.flag(e.phase, "finished_twice", "job ended both done and failed", job=e.job_id)
            elif len(keys) > 1:
                report.flag(e.phase, "finished_twice", "job completed with two different results", job=e.job_id)
            elif seen and status in TERMINAL_JOB:
                first = "done" if seen[0]["routing_key"] == "conversion.completed" else "failed"
                if first != status:
                    report.flag(e.phase, "finished_twice", f"job first ended {first}, stored {status}", job=e.job_id)

    # -- edits -> history ---------------------------------------------------------------
    def _edits(self, report: Report, ledger: list[Entry], db: Any) -> None:
        edits = [e for e in ledger if e.op == "edit" and e.accepted]
        history: dict[str, Counter[str]] = {}
        for d in db.runs.find({"_id": {"$in": list({e.run_id for e in edits})}}, {"history.event_id": 1}):
            history[d["_id"]] = Counter(h.get("event_id") for h in d.get("history") or [])
        for e in edits:
            n = history.get(e.run_id, Counter())[e.command_id]
            if n != 1:
                report.flag(e.phase, "lost_edits", f"edit applied {n} times", run=e.run_id, command=e.command_id)

    # -- dead letters ---------------------------------------------------------------------
    def _dead_letters(
        self, report: Report, ledger: list[Entry], dead: dict[str, list[dict[str, Any]]], db: Any
    ) -> None:
        phase_of: dict[str, str] = {}
        for e in ledger:
            for k in (e.job_id, e.command_id, e.run_id if e.op == "upload" else ""):
                if k:
                    phase_of.setdefault(k, e.phase)
        report.info["dead_letters"] = {s: len(v) for s, v in dead.items()}
        for service, items in dead.items():
            for m in items:
                key, body = m["routing_key"], m["body"]
                visible, ref = True, ""
                if key == "file.uploaded":
                    ref = body.get("sha256", "")
                    run = db.runs.find_one({"_id": ref}, {"status": 1, "reason": 1})
                    visible = run is not None and run.get("status") in TERMINAL_RUN
                elif key.startswith("conversion."):
                    ref = body.get("job_id", "")
                    job = db.jobs.find_one({"_id": ref}, {"status": 1, "error": 1})
                    visible = job is not None and (job.get("status") == "done"
                                                   or bool(job.get("status") == "failed" and job.get("error")))
                elif key == "run.command":
                    ref = body.get("event_id", "")
                    run = db.runs.find_one({"_id": body.get("run_id")}, {"history.event_id": 1})
                    # A command for a run that does not exist is refused at the API; one
                    # that is dead-lettered for a run that exists is an edit lost silently.
                    visible = run is None or any(h.get("event_id") == ref for h in run.get("history") or [])
                else:
                    visible = False
                if not visible:
                    report.flag(phase_of.get(ref, "unattributed"), "silent_dead_letters",
                                f"{key} dead in {service} with no visible failure", ref=ref, reason=m["reason"][:300])

    # -- processes ------------------------------------------------------------------------
    def _processes(self, report: Report, health: dict[str, dict[str, Any]]) -> None:
        report.info["services"] = health
        for label, h in health.items():
            for phase in h["unexpected_phases"]:
                report.flag(phase, "crash_loops", f"{label} exited without being killed", service=label)
            if not (h["alive"] and h["ready"]):
                report.flag("end", "crash_loops", f"{label} not alive and ready at the end", service=label)
