"""Proof that the checker can fail: plant one problem per column, see each one counted.

Runs after the real check (it damages the state it checks): an upload accepted but never
made, a run's MCAP deleted, a signal row written twice, a garbage file "made ready", an
export nobody finished, a job that ends twice, an edit never applied, a dead letter
nobody sees, a service that is down. A column that stays 0 here could not have caught
anything in the campaign, and the campaign fails.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import replace
from typing import Any

import aio_pika
from pymongo import MongoClient

from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore
from tests.faults.checker import COLUMNS, Checker, tap_queue_name
from tests.faults.workload import Entry

PHASE = "planted"


async def _plant_messages(settings: Settings, job_id: str, ghost_sha: str) -> None:
    conn = await aio_pika.connect(settings.amqp_url, timeout=10)
    try:
        ch = await conn.channel()
        body = {"job_id": job_id, "reason": "planted", "event_id": f"planted.{job_id}"}
        await ch.default_exchange.publish(
            aio_pika.Message(json.dumps(body).encode()), routing_key=tap_queue_name(settings),
        )
        # The tap keeps the routing key it was published with: mark this one a failure.
        ghost = {"sha256": ghost_sha, "object_key": f"mcap/{ghost_sha}.mcap", "event_id": "planted"}
        await ch.default_exchange.publish(
            aio_pika.Message(json.dumps(ghost).encode(), headers={"x-original-routing-key": "file.uploaded",
                                                                  "x-dead-letter-reason": "planted"}),
            routing_key=f"{settings.exchange}.ingest.dead",
        )
    finally:
        await conn.close()


def prove(settings: Settings, api_url: str, token: str, ledger: list[Entry], health: dict[str, Any]) -> dict[str, int]:
    """Counts per column with the planted problems; every one must be at least 1."""
    mongo: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url)
    try:
        db = mongo[settings.mongo_db]
        ready = [d["_id"] for d in db.runs.find({"status": "ready"}, {"_id": 1}).limit(3)]
        done = db.jobs.find_one({"status": "done"}, {"_id": 1})
        if len(ready) < 3 or done is None:
            raise RuntimeError("the campaign made too few runs or exports to plant problems in")
        ghost = secrets.token_hex(32)
        store = ObjectStore(settings)
        store.client.remove_object(settings.bucket_mcap, f"mcap/{ready[0]}.mcap")
        row = db.signals.find_one({"run_id": ready[1]}, {"_id": 0})
        assert row is not None
        db.signals.insert_one(row)
        asyncio.run(_plant_messages(settings, done["_id"], ghost))
        base = Entry("upload", PHASE, 0.0, 202, True)
        planted = [
            replace(base, kind="normal", run_id=ghost),
            replace(base, kind="corrupt", run_id=ready[2]),
            replace(base, op="export", job_id="000000000000" + secrets.token_hex(10)),
            replace(base, op="export", job_id=done["_id"]),
            replace(base, op="edit", run_id=ready[2], command_id="planted-never-sent"),
            *(e for e in ledger if e.op == "upload" and e.accepted and e.run_id in ready[:2]),
        ]
        sick = health | {"ghost-service": {"alive": False, "ready": False, "unexpected_phases": []}}
        report = Checker(settings, api_url, token).check(planted, sick)
        return {c: report.total(c) for c in COLUMNS}
    finally:
        mongo.close()
