"""Section: what an operator sizes a machine by.

  idle RSS   the five services started as `pitwall dev up` starts them (ingest,
             converter, query_api, backup with its start-up backup, a base station
             watching an empty folder), left idle, each process's RSS (with its
             children) read with psutil; again after some work (uploads, exports).
             The servers (MongoDB, RabbitMQ, S3) are not counted: they are the
             deployment's, not pitwall's. Floor: the set under 600 MB idle.
  scaling    one batch of 20 MAT exports of distinct selections (so no export is
             served from the cache) through 1 converter process, then the same batch
             (exports bucket emptied) through 2; jobs/s side by side.

The section works on its own exchange and database, so services other sections
started on the shared stack never take its messages.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from bench import inputs
from bench.context import FIVE_SIGNALS, Context
from bench.inputs import Spec
from bench.report import Section, mb, ratio, say, secs

SERVICES = ("ingest", "converter", "query_api", "backup", "basestation")
IDLE_FLOOR = 600e6
JOBS = 20


def rss_tree(pid: int) -> int:
    import psutil

    proc = psutil.Process(pid)
    return int(sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]))


def sample(procs: dict[str, Any], seconds: float) -> dict[str, int]:
    """Median RSS of each process over `seconds` (one reading a second)."""
    readings: dict[str, list[int]] = {name: [] for name in procs}
    end = time.monotonic() + seconds
    while True:
        for name, proc in procs.items():
            readings[name].append(rss_tree(proc.pid))
        if time.monotonic() >= end:
            break
        time.sleep(1.0)
    return {name: int(statistics.median(values)) for name, values in readings.items()}


class Ops:
    """This section's processes on the shared servers, with their own exchange and database."""

    def __init__(self, stack: Any) -> None:
        from pitwall.devstack.endpoints import settings_env

        self.stack = stack
        self.root = stack.root / "ops"
        self.root.mkdir(parents=True, exist_ok=True)
        self.settings = stack.settings.model_copy(update={
            "exchange": f"{stack.settings.exchange}.ops", "mongo_db": f"{stack.settings.mongo_db}_ops",
            "data_dir": self.root / "data",
        })
        self.env = dict(stack.env) | settings_env(self.settings)
        self.procs: dict[str, Any] = {}
        self.ports: list[int] = []

    def start(self, name: str, key: str | None = None, **extra: str) -> Any:
        from pitwall.devstack.ports import free_port
        from pitwall.devstack.services import ServiceProcess

        key = key or name
        env = self.env | extra
        port = None
        if name == "query_api":
            port = free_port()
            self.ports.append(port)
            env["PITWALL_HTTP_PORT"] = str(port)
        log = self.stack.logs / f"ops-{key}.log"
        log.unlink(missing_ok=True)
        proc = ServiceProcess(name, env, log, http_port=port).start()
        self.procs[key] = proc
        return proc

    def token(self, role: str) -> str:
        from pitwall.common import db
        from pitwall.common import tokenstore as tokens
        from pitwall.common.contracts import mongo
        from pitwall.ingest import repository

        async def make() -> str:
            client = db.make_client(self.settings)
            try:
                database = db.database(client, self.settings)
                await repository.ensure_indexes(database)
                return (await tokens.create(database[mongo.TOKENS], role, f"bench-ops-{role}"))[1]
            finally:
                await client.close()

        return asyncio.run(make())

    def start_all(self) -> None:
        """As `pitwall dev up` starts them (its car aside: not a service)."""
        watch = self.root / "car"
        watch.mkdir(exist_ok=True)
        station_token = self.token("uploader")
        for name in ("ingest", "converter"):
            self.start(name)
        api = self.start("query_api")
        self.start("backup", PITWALL_BACKUP_PASSWORD="bench-ops",
                   PITWALL_BACKUP_TARGET=f"file://{self.root / 'backups'}")
        self.start("basestation", PITWALL_BASESTATION_API_URL=api.base_url, PITWALL_BASESTATION_TOKEN=station_token,
                   PITWALL_BASESTATION_WATCH_DIR=str(watch), PITWALL_BASESTATION_SPOOL_DIR=str(self.root / "spool"),
                   PITWALL_BASESTATION_STATION_ID="bench-ops")
        api.wait_ready(timeout=120)
        for name in ("ingest", "converter"):
            self.procs[name].wait_for_log("ready", timeout=120)
        self.procs["basestation"].wait_for_log("station started", timeout=120)
        # The schedule's missed slot is made at start-up: idle means after it.
        deadline = time.monotonic() + 300
        while not any(w in self.procs["backup"].log() for w in ("backup completed", "backup failed")):
            if time.monotonic() > deadline:
                raise TimeoutError("the start-up backup did not finish")
            time.sleep(0.5)

    def ingest(self, paths: list[Path]) -> list[str]:
        from pitwall.common import db
        from pitwall.common.broker import Publisher, connect
        from pitwall.common.events import FileUploaded
        from pitwall.common.storage import ObjectStore

        store = ObjectStore(self.settings)
        stored = [store.put_mcap_file(p) for p in paths]

        async def go() -> None:
            client = db.make_client(self.settings)
            conn = await connect(self.settings, name="bench-ops")
            try:
                publisher = await Publisher.open(conn, self.settings)
                for p, st in zip(paths, stored, strict=True):
                    await publisher.publish(FileUploaded(sha256=st.sha256, object_key=st.key, size=st.size,
                                                         filename=p.name, source="cli", uploader="bench"))
                runs = db.database(client, self.settings)["runs"]
                ids = [st.sha256 for st in stored]
                deadline = time.monotonic() + 900
                ingested = {"_id": {"$in": ids}, "status": {"$in": ["ready", "recovered"]}}
                while await runs.count_documents(ingested) < len(ids):
                    if time.monotonic() > deadline:
                        raise TimeoutError("runs not ingested")
                    await asyncio.sleep(0.1)
            finally:
                await conn.close()
                await client.close()

        asyncio.run(go())
        return [st.sha256 for st in stored]

    def clear_exports(self) -> None:
        from pitwall.common.storage import ObjectStore

        store = ObjectStore(self.settings)
        bucket = self.settings.bucket_exports
        for obj in list(store.client.list_objects(bucket, recursive=True)):
            if obj.object_name:
                store.client.remove_object(bucket, obj.object_name)

    def convert_batch(self, requests: list[Any]) -> tuple[float, int]:
        """Publish the batch at once; seconds until every job answered, and failures."""
        from pitwall.common.broker import Publisher, connect

        async def go() -> tuple[float, int]:
            conn = await connect(self.settings, name="bench-ops-batch")
            try:
                publisher = await Publisher.open(conn, self.settings)
                channel = await conn.channel()
                answers = await channel.declare_queue(exclusive=True)
                for key in ("conversion.completed", "conversion.failed"):
                    await answers.bind(publisher.exchange, key)
                waiting = {r.job_id for r in requests}
                counts = {"failed": 0, "cached": 0}

                async def collect() -> None:
                    async with answers.iterator() as it:
                        async for message in it:
                            await message.ack()
                            body: dict[str, Any] = json.loads(message.body)
                            if body.get("job_id") not in waiting:
                                continue
                            waiting.discard(body["job_id"])
                            counts["failed"] += message.routing_key == "conversion.failed"
                            counts["cached"] += bool(body.get("cached"))
                            if not waiting:
                                return

                start = time.perf_counter()
                for r in requests:
                    await publisher.publish(r)
                try:
                    await asyncio.wait_for(collect(), 1800)
                except TimeoutError:
                    raise TimeoutError(f"{len(waiting)} exports not answered in 30 min") from None
                elapsed = time.perf_counter() - start
                failed, cached = counts["failed"], counts["cached"]
                if cached:
                    raise RuntimeError(f"{cached} exports came from the cache: the batch must be converted")
                return elapsed, failed
            finally:
                await conn.close()

        return asyncio.run(go())

    def stop(self) -> None:
        from pymongo import MongoClient

        from pitwall.devstack.ports import release

        for proc in self.procs.values():
            proc.stop()
        release(*self.ports)
        mongo: MongoClient[dict[str, Any]] = MongoClient(self.settings.mongo_url)
        try:
            mongo.drop_database(self.settings.mongo_db)
        finally:
            mongo.close()


def batch(run_ids: list[str], jobs: int, every_signal: bool) -> list[Any]:
    """`jobs` MAT exports, each a selection no other one has (run x start of the window,
    to the end of the run), of every signal or of five topics."""
    from pitwall.common.events import ConversionRequested

    topics = sorted({s.split(":", 1)[0] for s in FIVE_SIGNALS})
    signals = [] if every_signal else [f"{t}:*" for t in topics]
    out = []
    for i in range(jobs):
        run = run_ids[i % len(run_ids)]
        k = i // len(run_ids)
        out.append(ConversionRequested(
            job_id=uuid.uuid4().hex, runs=[run], signals=signals, start_s=float(k * 5), format="mat",
            requested_by="bench",
        ))
    return out


def run(ctx: Context, section: Section) -> None:
    stack = ctx.get_stack()
    ops = Ops(stack)
    minutes = 1.0 if ctx.config.quick else 3.0
    every_signal = not ctx.config.quick
    n_runs = 4
    made = [inputs.ensure(Spec(minutes=minutes, seed=900 + i)) for i in range(n_runs)]
    idle_s = 5.0 if ctx.config.quick else 10.0
    try:
        say("ops: starting the five services as the dev stack does")
        ops.start_all()
        time.sleep(idle_s)
        at_start = sample({k: ops.procs[k] for k in SERVICES}, 5.0)

        say(f"ops: {n_runs} runs of {minutes:g} min ingested, then {JOBS} exports through 1 converter")
        run_ids = ops.ingest([m.path for m in made])
        requests = batch(run_ids, JOBS, every_signal)
        one_s, one_failed = ops.convert_batch(requests)
        ops.clear_exports()
        say(f"ops: the same {JOBS} exports through 2 converters")
        second = ops.start("converter", key="converter-2")
        second.wait_for_log("ready", timeout=120)
        two_s, two_failed = ops.convert_batch([r.model_copy(update={"job_id": uuid.uuid4().hex,
                                                                     "event_id": uuid.uuid4().hex}) for r in requests])
        time.sleep(idle_s)
        after = sample({k: ops.procs[k] for k in (*SERVICES, "converter-2")}, 5.0)
    finally:
        ops.stop()

    total_start = sum(at_start.values())
    total_after = sum(v for k, v in after.items() if k in SERVICES)
    t = section.table("idle RSS of each service (process and its children; servers not counted)",
                      ["service", "idle after start", f"idle after {n_runs} uploads + {2 * JOBS} exports"])
    for name in SERVICES:
        t.add(name, mb(at_start[name]), mb(after[name]))
    t.add("**the five services**", f"**{mb(total_start)}**", f"**{mb(total_after)}**")
    t.add("a second converter", "", mb(after["converter-2"]))
    t.notes.append(f"Median of 5 readings 1 s apart, {idle_s:.0f} s after the last work (the backup service's "
                   "start-up backup included); psutil RSS counts shared library pages in each process.")
    section.check("the five services idle (after start)", mb(total_start), "< 600 MB", total_start < IDLE_FLOOR)

    what = "every signal" if every_signal else "5 topics"
    s = section.table(f"converter scaling: {JOBS} MAT exports of distinct selections ({n_runs} runs of "
                      f"{minutes:g} min, {what}, from 0/5/10/15/20 s to the end), published at once",
                      ["converters", "batch", "jobs/s", "vs 1", "failed"])
    s.add("1", secs(one_s), f"{JOBS / one_s:.2f}", ratio(1.0), one_failed)
    s.add("2", secs(two_s), f"{JOBS / two_s:.2f}", ratio(one_s / two_s), two_failed)
    s.notes.append("Converter prefetch 1 (competing consumers); the exports bucket emptied between the two "
                   "batches so neither is served from the cache; the clock stops at the last "
                   "conversion.completed. Both processes share this machine's CPUs with ingest and query_api.")
    section.data.update({"rss_idle": at_start, "rss_after_work": after, "rss_idle_total": total_start,
                         "scaling": {"jobs": JOBS, "one_s": one_s, "two_s": two_s}})
