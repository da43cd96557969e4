"""GET /runs and GET /runs/{id}/series timed over HTTP against a real query_api process.

    .venv/bin/python services/query_api/bench/api_bench.py [--runs 3000] [--minutes 10]

Starts its own local servers (like the tests), inserts `--runs` run documents the way
ingest writes them (plus their signal statistics), ingests one `--minutes` synth run into
the signal store, starts `pitwall service query_api`, and prints p50/p99 latencies of
list queries (newest first, a filter, a statistic predicate, free text, a deep page) and
of a 5-signal plot series at max_points=2000. MongoDB here is SecantusDB, a development
server much slower than mongod: the list numbers say what the API costs on it, not
what a production MongoDB would answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "integration"))

SERIES_SIGNALS = [
    "VNData:vn_vel.x", "VNData:vn_linear_accel.y", "MCUOutputData:torque_setpoint_nm.FL",
    "ACU_data:pack_voltage", "ACU_data:cell_voltages[10]",
]


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return {"p50_ms": round(statistics.median(ms), 1), "p99_ms": round(p99, 1), "n": len(ms)}


def time_get(client: httpx.Client, path: str, params: Any, n: int) -> dict[str, float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        r = client.get(path, params=params)
        samples.append(time.perf_counter() - start)
        r.raise_for_status()
    return percentiles(samples)


def seed_runs(settings: Any, n: int) -> None:
    from helpers.api import T0_NS, recording, run_docs
    from pymongo import MongoClient

    from pitwall.common.contracts import mongo
    from pitwall.common.summaries import run_summary

    db = MongoClient(settings.mongo_url)[settings.mongo_db]
    base = [recording(T0_NS, seconds=4, rate_hz=10, seed=s, speed_max=10.0 + s) for s in range(20)]
    runs, stats = [], []
    for i in range(n):
        rec = base[i % 20]
        doc, st = run_docs(rec, f"bench_{i:06d}.mcap")
        doc["start_ns"] = T0_NS + i * 600 * 10**9
        doc["setup"] = {**doc["setup"], "track": ["Ohio", "MIS", "Lincoln"][i % 3], "driver": f"driver{i % 12}"}
        doc["search"] = sorted({*doc["search"], "ohio" if i % 3 == 0 else "other", f"driver{i % 12}"})
        runs.append(doc)
        stats += st
        if len(runs) == 1000:
            db[mongo.RUNS].insert_many(runs)
            db[mongo.RUN_SUMMARIES].insert_many([run_summary(d) for d in runs])
            db[mongo.SIGNALS].insert_many(stats)
            runs, stats = [], []
    if runs:
        db[mongo.RUNS].insert_many(runs)
        db[mongo.RUN_SUMMARIES].insert_many([run_summary(d) for d in runs])
        db[mongo.SIGNALS].insert_many(stats)


def seed_long_run(settings: Any, minutes: float, work: Path) -> str:
    """A synth run decoded and stored the way ingest stores it; returns its id."""
    import subprocess

    from helpers.api import run_docs, write_store
    from pymongo import MongoClient

    from pitwall.common.contracts import mongo
    from pitwall.common.mcapread import read_recording
    from pitwall.common.summaries import run_summary

    path = work / "long.mcap"
    subprocess.run([sys.executable, "-m", "pitwall.cli.main", "synth", str(path), "--minutes", str(minutes),
                    "--seed", "3"],
                   check=True, capture_output=True)
    rec = read_recording(str(path))
    doc, stats = run_docs(rec, "long.mcap")
    db = MongoClient(settings.mongo_url)[settings.mongo_db]
    db[mongo.RUNS].insert_one(doc)
    db[mongo.RUN_SUMMARIES].insert_one(run_summary(doc))
    db[mongo.SIGNALS].insert_many(stats)
    write_store(settings, rec, doc["_id"])
    return str(doc["_id"])


async def make_token(settings: Any) -> str:
    from pitwall.common import db
    from pitwall.common import tokenstore as tokens
    from pitwall.common.contracts import mongo
    from pitwall.ingest import repository

    client = db.make_client(settings)
    try:
        database = db.database(client, settings)
        await repository.ensure_indexes(database)
        return (await tokens.create(database[mongo.TOKENS], "viewer", "bench"))[1]
    finally:
        await client.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3000)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()

    from pitwall.devstack.endpoints import settings_env
    from pitwall.devstack.ports import free_port
    from pitwall.devstack.servers import start_servers
    from pitwall.devstack.services import ServiceProcess

    with tempfile.TemporaryDirectory(prefix="pitwall-api-bench-") as tmp:
        work = Path(tmp)
        servers = start_servers(work / "servers", backend="local", repo_root=REPO)
        try:
            settings = servers.endpoints.settings(mongo_db="api_bench", bucket_prefix="apibench-")
            token = asyncio.run(make_token(settings))
            t0 = time.perf_counter()
            seed_runs(settings, args.runs)
            seeded = time.perf_counter() - t0
            long_id = seed_long_run(settings, args.minutes, work)
            port = free_port()
            env = {**settings_env(settings), "PITWALL_HTTP_PORT": str(port), "PATH": "/usr/bin:/bin"}
            api = ServiceProcess("query_api", env, work / "query_api.log", http_port=port).start()
            try:
                api.wait_ready()
                results: dict[str, Any] = {"runs": args.runs, "seed_s": round(seeded, 1)}
                with httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
                    c.get("/api/v1/runs").raise_for_status()  # warm caches (token, planner)
                    deep = None
                    page = c.get("/api/v1/runs", params={"limit": 50}).json()
                    for _ in range(10):  # the 11th page: a cursor deep into the list
                        page = c.get("/api/v1/runs", params={"limit": 50, "cursor": page["next_cursor"]}).json()
                    deep = page["next_cursor"]
                    n = args.requests
                    results["list newest first"] = time_get(c, "/api/v1/runs", {"limit": 50}, n)
                    results["list track filter"] = time_get(c, "/api/v1/runs", {"limit": 50, "track": "MIS"}, n)
                    results["list driver filter"] = time_get(c, "/api/v1/runs", {"limit": 50, "driver": "driver3"}, n)
                    results["list where predicate"] = time_get(
                        c, "/api/v1/runs", {"limit": 50, "where": "VNData:vn_vel.x.max>25"}, n)
                    results["list free text"] = time_get(c, "/api/v1/runs", {"limit": 50, "q": "ohio"}, n)
                    results["list page 12 (cursor)"] = time_get(c, "/api/v1/runs", {"limit": 50, "cursor": deep}, n)
                    params = {"signals": ",".join(SERIES_SIGNALS), "max_points": 2000}
                    body = c.get(f"/api/v1/runs/{long_id}/series", params=params).json()
                    points = [len(s["t"]) for s in body["signals"]]
                    results[f"series 5 signals, {args.minutes:g}-minute run, max_points=2000"] = {
                        **time_get(c, f"/api/v1/runs/{long_id}/series", params, max(20, n // 10)),
                        "points_per_signal": points,
                        "samples_in_window": [s["points_in_window"] for s in body["signals"]],
                    }
            finally:
                api.stop()
            print(json.dumps(results, indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o)))
        finally:
            servers.stop()


if __name__ == "__main__":
    main()
