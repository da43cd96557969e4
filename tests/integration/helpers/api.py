"""Shared by the API tests: a query_api process per test module, tokens, and runs.

Runs are made the way ingest makes them (its own document builder, statistics and
signal store writer) from small synthetic recordings, then inserted straight into the
test database: the list/filter tests play ingest so they control exactly what exists.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pytest
from pymongo import MongoClient
from testsupport.services import start_service, wait_until_ready

from pitwall.common import signalstore
from pitwall.common import tokenstore as tokens
from pitwall.common.columns import Recording, Signal, TopicColumns
from pitwall.common.contracts import mongo
from pitwall.common.events import FileUploaded
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore
from pitwall.common.summaries import run_summary
from pitwall.devstack.ports import free_port, release
from pitwall.devstack.services import ServiceProcess
from pitwall.ingest import repository
from pitwall.ingest.digest import Digest
from pitwall.ingest.documents import run_document

ROLES = ("viewer", "uploader", "editor", "admin")
T0_NS = 1_700_000_000_000_000_000  # 2023-11-14


@dataclass
class Api:
    """A running query_api, its settings (own database), and a token per role."""

    base_url: str
    settings: Settings
    process: ServiceProcess
    mongo: MongoClient[dict[str, Any]]
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, str] = field(default_factory=dict)

    def client(self, role: str | None = "admin", **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0, **kwargs)

    @property
    def db(self) -> Any:
        return self.mongo[self.settings.mongo_db]


def _async(coro: Any) -> Any:
    return asyncio.run(coro)


async def _ensure(settings: Settings) -> dict[str, tuple[str, str]]:
    from pitwall.common import db

    client = db.make_client(settings)
    try:
        database = db.database(client, settings)
        await repository.ensure_indexes(database)
        made = {}
        for role in ROLES:
            info, secret = await tokens.create(database[mongo.TOKENS], role, f"test-{role}")
            made[role] = (info.id, secret)
        return made
    finally:
        await client.close()


def start_api(
    settings: Settings, service_env: dict[str, str], log_dir: Any, tag: str, *, drop: bool = True, **overrides: Any
) -> Iterator[Api]:
    """A query_api on its own database `<session db>_<tag>`, dropped afterwards.

    `drop=False` leaves a big database to the session's end: MongoDB is the session's own
    server, removed with its files then, and SecantusDB takes about a minute to drop 10,000
    documents with their indexes one by one.
    """
    from pitwall.devstack.endpoints import settings_env

    s = settings.model_copy(update={"mongo_db": f"{settings.mongo_db}_{tag}", **overrides})
    made = _async(_ensure(s))
    port = free_port()
    env = dict(service_env) | settings_env(s) | {"PITWALL_HTTP_PORT": str(port)}
    proc = start_service("query_api", env, log_dir / f"query_api-{tag}.log", http_port=port, wait=False)
    mongo: MongoClient[dict[str, Any]] = MongoClient(s.mongo_url, tz_aware=True)
    try:
        wait_until_ready(proc)
        api = Api(proc.base_url, s, proc, mongo)
        api.tokens = {role: secret for role, (_id, secret) in made.items()}
        api.token_ids = {role: tid for role, (tid, _secret) in made.items()}
        yield api
    finally:
        proc.stop()
        release(port)
        if drop:
            mongo.drop_database(s.mongo_db)
        mongo.close()
        if proc.returncode not in (0, None, -15):
            print(proc.log()[-4000:])


# -- runs, made like ingest makes them ------------------------------------------------
def recording(
    start_ns: int, *, seconds: float = 30.0, rate_hz: float = 50.0, speed_max: float = 20.0,
    temp_max: float = 60.0, temp_min: float = 25.0, setup: dict[str, str] | None = None, seed: int = 0,
    extra_topic: str | None = None,
) -> Recording:
    """A small run: a GPS/velocity topic driving laps of a circle, a motor temperature,
    a battery with repeated cell voltages, a state enum. Maxima are exactly as given."""
    rng = np.random.default_rng(seed)
    n = max(3, int(seconds * rate_hz))
    t = start_ns + (np.arange(n, dtype=np.int64) * int(1e9 / rate_hz))
    phase = np.linspace(0, 6 * np.pi, n)  # three laps
    lat = 40.0 + (60.0 / 111_111.0) * np.sin(phase)
    lon = -83.0 + (60.0 / 85_000.0) * (1 - np.cos(phase))
    speed = np.abs(rng.normal(speed_max / 2, speed_max / 6, n))
    speed = np.minimum(speed, speed_max)
    speed[n // 3] = speed_max
    temp = np.linspace(temp_min, temp_max, n).astype(np.float32)
    cells = 3.6 + rng.normal(0, 0.02, (n, 4))
    state = (np.arange(n) // max(1, n // 3)).astype(np.int32) % 3
    vn = TopicColumns("VNData", "hytech.VNData", "protobuf", t.copy())
    vn.signals = {
        "vn_vel.x": Signal("vn_vel.x", "double", speed),
        "vn_gps.lat": Signal("vn_gps.lat", "double", lat),
        "vn_gps.lon": Signal("vn_gps.lon", "double", lon),
    }
    mcu = TopicColumns("MCUOutputData", "hytech.MCUOutputData", "protobuf", t.copy())
    mcu.signals = {
        "motor_temp": Signal("motor_temp", "single", temp),
        "state": Signal("state", "enum", state, enum_names={0: "IDLE", 1: "READY", 2: "DRIVE"}),
    }
    bms = TopicColumns("BMS", "hytech.BMS", "protobuf", t[::5].copy())
    bms.signals = {"cells.voltage": Signal("cells.voltage", "double", cells[::5], repeated=True)}
    topics = {"VNData": vn, "MCUOutputData": mcu, "BMS": bms}
    if extra_topic:
        topics[extra_topic] = TopicColumns(extra_topic, "x.Extra", "protobuf", t[:3].copy())
        topics[extra_topic].signals = {"value": Signal("value", "double", np.arange(3.0))}
    metadata = {"setup": setup} if setup else {}
    return Recording(topics=topics, origin_ns=int(t[0]), metadata=metadata, message_count=n * 2 + len(bms.log_time_ns))


def sha_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def run_docs(
    rec: Recording, filename: str, sha: str | None = None, **overrides: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sha = sha or sha_of(filename)
    event = FileUploaded(sha256=sha, object_key=f"mcap/{sha}.mcap", size=1000, filename=filename, source="cli")
    digest = Digest.of(rec)
    doc = run_document(digest, event)
    doc.update(overrides)
    stats = [{"run_id": sha, **s} for s in digest.stats]
    return doc, stats


def insert_run(api: Api, rec: Recording, filename: str, *, store: bool = False, **overrides: Any) -> dict[str, Any]:
    doc, stats = run_docs(rec, filename, **overrides)
    database = api.db
    database[mongo.SIGNALS].insert_many(stats)
    save_run(database, doc)
    if store:
        write_store(api.settings, rec, doc["_id"])
    return doc


def save_run(database: Any, doc: dict[str, Any]) -> None:
    """A run document and its summary, written as ingest writes them (the run first)."""
    database[mongo.RUNS].insert_one(doc)
    database[mongo.RUN_SUMMARIES].insert_one(run_summary(doc))


def write_store(settings: Settings, rec: Recording, sha: str) -> None:
    st = ObjectStore(settings)
    st.ensure_buckets()
    signalstore.write_recording(rec, lambda k, d: st.put_bytes(settings.bucket_signals, k, d), sha)


def require_ok(response: httpx.Response, code: int = 200) -> Any:
    if response.status_code != code:
        pytest.fail(f"{response.request.method} {response.request.url} -> {response.status_code}: "
                    f"{response.text[:800]}")
    return response.json() if response.content else None


class EventTap:
    """Copies of the events published on `keys` in the API's vhost, for sync tests."""

    def __init__(self, settings: Settings, *keys: str) -> None:
        import queue
        import threading

        from pitwall.common.events import parse_event

        self.events: queue.Queue[Any] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def setup() -> Any:
            import aio_pika

            from pitwall.common.broker import connect
            from pitwall.common.broker.topology import declare_exchanges

            conn = await connect(settings, name="test-tap")
            channel = await conn.channel()
            declared = await declare_exchanges(channel, settings)
            q = await channel.declare_queue(exclusive=True, auto_delete=True)
            for key in keys:
                await q.bind(declared.exchange, key)

            async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
                async with msg.process():
                    self.events.put(parse_event(msg.routing_key or "", msg.body))

            await q.consume(on_message)
            return conn

        self._conn = asyncio.run_coroutine_threadsafe(setup(), self._loop).result(timeout=30)

    def get(self, timeout: float = 10.0) -> Any:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._conn.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
