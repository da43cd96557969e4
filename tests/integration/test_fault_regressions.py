"""Bugs the fault campaign (`make faults`) found, each reproduced on the real servers."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from helpers.api import start_api
from helpers.proxy import CuttableProxy
from testsupport.waiting import wait_for_async

from pitwall.common import db
from pitwall.common.broker import Consumer, Publisher, connect
from pitwall.common.events import BackupDue, Event
from pitwall.common.idempotency import MongoIdempotencyStore
from pitwall.common.settings import Settings


@pytest.mark.asyncio(loop_scope="session")
async def test_mongodb_away_during_the_duplicate_check_does_not_stall_the_consumer(settings: Settings) -> None:
    # Campaign row "MongoDB stopped": ingest's duplicate check (MongoDB) raised outside
    # the handler's error handling, the delivery stayed unacked, and once `prefetch`
    # deliveries were stuck ingest consumed nothing more, even with MongoDB back.
    s = settings.model_copy(update={
        "exchange": f"{settings.exchange}.idemdown.{os.getpid()}", "retry_backoff_s": [0.3, 0.6, 1.0, 2.0],
    })
    target = urlsplit(s.mongo_url)
    proxy = CuttableProxy(target.port or 27017, target.hostname or "127.0.0.1")
    client: Any = db.make_client(s.model_copy(update={"mongo_url": f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"}))
    store = MongoIdempotencyStore(db.database(client, s)["idem_keys"])
    processed: list[str] = []

    async def handler(event: Event, message: Any) -> None:
        processed.append(event.event_id)

    conn = await connect(s)
    try:
        consumer = Consumer(
            await conn.channel(), s, "idemdown", handler, bindings=("backup.due",),
            idempotency_key=lambda e: e.event_id, store=store, prefetch=1,
        )
        await consumer.start()
        pub = await Publisher.open(conn, s)
        proxy.cut()
        first = BackupDue()
        await pub.publish(first)
        await wait_for_async(lambda: bool(consumer.outcomes), "an outcome while MongoDB is away", 15, every=0.05)
        assert [o.status for o in consumer.outcomes] == ["retry"]  # not left unacked
        proxy.restore()
        second = BackupDue()
        await pub.publish(second)
        await wait_for_async(lambda: len(processed) >= 2, "both events processed", 20, every=0.05)
        assert sorted(processed) == sorted([first.event_id, second.event_id])
        await consumer.stop()
    finally:
        proxy.close()
        await conn.close()
        await client.close()


def test_s3_away_answers_uploads_503_with_a_reason(settings: Settings, service_env: dict[str, str],
                                                   tmp_path: Any) -> None:
    # Campaign row "S3 stopped": POST /uploads answered a bare 500 (urllib3's
    # MaxRetryError escaped); a client must hear "try again", as for MongoDB.
    host, _, port = settings.s3_endpoint.rpartition(":")
    proxy = CuttableProxy(int(port), host or "127.0.0.1")
    try:
        for api in start_api(settings, service_env, tmp_path, "s3down", s3_endpoint=f"127.0.0.1:{proxy.port}"):
            proxy.cut()
            with api.client("uploader") as http:
                not_mcap = ("a.mcap", b"\x89MCAP0\r\n" + bytes(100), "application/octet-stream")
                r = http.post("/api/v1/uploads", files={"file": not_mcap})
            assert r.status_code == 503, r.text
            assert "storage" in r.json()["detail"] and r.headers["Retry-After"]
            assert httpx.get(f"{api.base_url}/healthz", timeout=5).status_code == 200
    finally:
        proxy.close()
