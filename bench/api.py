"""Section 4 (issue 6): query_api latency over real HTTP, p50/p99.

- `GET /api/v1/runs` over many runs: run documents are inserted straight into MongoDB in
  the shape ingest writes (its own `run_document`, from a decoded synth file, with
  setups, names and start times varied), on top of the indexes ingest creates. First
  page and a deep keyset page, without and with a filter.
- `GET /api/v1/runs/{id}/series`: 5 signals of the ingested 10-minute run at
  max_points=2000, read from its signal store.

Locally MongoDB is SecantusDB, a Python server that walks whole indexes on sorted queries:
a few thousand runs measure pitwall there; 100,000 runs are measured against a real
mongod (Docker back-end, or `--runs`).
"""

from __future__ import annotations

import copy
import random
import time
from datetime import UTC, datetime
from typing import Any

from bench import inputs
from bench.context import FIVE_SIGNALS, Context
from bench.ingest import ensure_ingested
from bench.measure import percentile
from bench.report import Section, ms, say

DRIVERS = ("Ana", "Ben", "Chloe", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo")
TRACKS = ("MIS", "Lincoln", "Gingerbread", "Home lot", "Skidpad A", "Brainerd", "Atlanta", "Portland")
EVENTS = ("endurance", "autocross", "skidpad", "acceleration", "testing")
CARS = ("HT07", "HT08", "HT09")
KEYS_LOCAL = 40
T0_NS = 1_640_995_200_000_000_000  # 2022-01-01: three seasons of runs from here


def template_document(spec: inputs.Spec) -> dict[str, Any]:
    """A run document as ingest builds it, from a decoded (short) synth file."""
    from pitwall.common.events import FileUploaded
    from pitwall.common.mcapread import read_recording
    from pitwall.ingest.documents import run_document

    tiny = inputs.ensure(spec)
    rec = read_recording(tiny.path)
    event = FileUploaded(sha256="0" * 64, object_key="mcap/x.mcap", size=tiny.size, filename=tiny.path.name, source="cli")
    keys = [f"{t.topic}:{p}" for t in rec.topics.values() for p in t.signals]
    return run_document(rec, event, signal_keys=keys)


def run_documents(
    template: dict[str, Any], count: int, *, max_signal_keys: int | None = None, seed: int = 5
) -> list[dict[str, Any]]:
    """`count` runs varied from the template: ids, names, start times and setups."""
    from pitwall.ingest.documents import tokens

    rng = random.Random(seed)
    template = copy.deepcopy(template)
    if max_signal_keys is not None:
        template["signal_keys"] = template["signal_keys"][:max_signal_keys]
    docs = []
    for i in range(count):
        doc = copy.deepcopy(template)
        sha = f"{rng.getrandbits(256):064x}"
        start = T0_NS + i * 3 * 3600 * 10**9 + rng.randrange(3600 * 10**9)
        length = rng.randrange(60, 1800) * 10**9
        setup = dict(doc.get("setup") or {})
        setup.update(driver=rng.choice(DRIVERS), track=rng.choice(TRACKS), event_type=rng.choice(EVENTS), car=rng.choice(CARS))
        filename = f"{setup['event_type']}_{i:06d}.mcap"
        doc.update(
            _id=sha, sha256=sha, object_key=f"mcap/{sha}.mcap", filename=filename,
            start_ns=start, end_ns=start + length, duration_s=length / 1e9,
            start_time=datetime.fromtimestamp(start / 1e9, UTC), end_time=datetime.fromtimestamp((start + length) / 1e9, UTC),
            setup=setup, search=tokens(filename, *(v for v in setup.values() if isinstance(v, str))),
        )
        doc["uploads"] = [{**doc["uploads"][0], "event_id": f"bench-{sha[:16]}", "filename": filename}]
        docs.append(doc)
    return docs


def insert_runs(settings: Any, docs: list[dict[str, Any]], batch: int = 1000) -> float:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url, tz_aware=True)
    try:
        runs = client[settings.mongo_db]["runs"]
        start = time.perf_counter()
        for i in range(0, len(docs), batch):
            runs.insert_many(docs[i : i + batch], ordered=False)
        return time.perf_counter() - start
    finally:
        client.close()


def latencies(client: Any, url: str, params: dict[str, Any], n: int) -> tuple[list[float], Any]:
    """n sequential requests after one warm-up; seconds each, and the last body."""
    body = ok(client.get(url, params=params))
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url, params=params)
        out.append(time.perf_counter() - start)
        body = ok(response)
    return out, body


def ok(response: Any) -> Any:
    if response.status_code != 200:
        raise RuntimeError(f"GET {response.request.url} -> {response.status_code}: {response.text[:500]}")
    return response.json()


def cursor_at(client: Any, params: dict[str, Any], pages: int) -> tuple[str | None, int]:
    """The cursor of page `pages + 1` (walking from the first), and the pages walked."""
    cursor = None
    walked = 0
    for _ in range(pages):
        body = ok(client.get("/api/v1/runs", params={**params, **({"cursor": cursor} if cursor else {})}))
        if not body.get("next_cursor"):
            break
        cursor = body["next_cursor"]
        walked += 1
    return cursor, walked


def run(ctx: Context, section: Section) -> None:
    import httpx

    cfg = ctx.config
    stack, done = ensure_ingested(ctx)
    api = stack.service("query_api")
    token = stack.token("viewer")
    n_runs = cfg.run_docs(stack.backend)
    reps = cfg.requests

    # SecantusDB indexes every array entry in Python: a run with all 865 signal keys takes
    # ~55 ms to insert there (5,000 runs: 5 minutes). Locally the bulk runs keep 40 of them;
    # a real mongod gets the full shape.
    keep = None if stack.backend == "docker" else KEYS_LOCAL
    docs = run_documents(template_document(cfg.tiny), n_runs, max_signal_keys=keep)
    say(f"inserting {n_runs:,} run documents")
    insert_s = insert_runs(stack.settings, docs)
    say(f"inserted in {insert_s:.1f} s")
    total = n_runs + 1  # + the ingested run
    driver = DRIVERS[0]
    matching = sum(1 for d in docs if d["setup"]["driver"] == driver)
    limit = 50

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=120.0) as client:
        deep_pages = max(1, min(100, total // limit // 2))
        say(f"walking {deep_pages} pages for a deep cursor")
        deep_cursor, deep_walked = cursor_at(client, {"limit": limit}, deep_pages)
        f_pages = max(1, min(100, matching // limit // 2))
        f_cursor, f_walked = cursor_at(client, {"limit": limit, "driver": driver}, f_pages)
        routes: list[tuple[str, str, dict[str, Any]]] = [
            (f"`GET /runs` first page (limit {limit})", "/api/v1/runs", {"limit": limit}),
            (f"`GET /runs?driver=…` first page ({matching:,} match)", "/api/v1/runs", {"limit": limit, "driver": driver}),
            (f"`GET /runs` deep keyset page (page {deep_walked + 1}, ~{deep_walked * limit:,} runs in)", "/api/v1/runs", {"limit": limit, "cursor": deep_cursor}),
            (f"`GET /runs?driver=…` deep keyset page (page {f_walked + 1})", "/api/v1/runs", {"limit": limit, "driver": driver, "cursor": f_cursor}),
        ]
        say("series")
        series_url = f"/api/v1/runs/{done.run_id}/series"
        series_params = {"signals": ",".join(FIVE_SIGNALS), "max_points": 2000}
        start = time.perf_counter()
        first_series = ok(client.get(series_url, params=series_params))
        series_first_s = time.perf_counter() - start

        table = section.table(
            f"api: query_api over HTTP, {total:,} runs in MongoDB ({stack.backend} back-end), {reps} sequential requests per route",
            ["route", "p50 ms", "p99 ms", "items"],
        )
        measured: dict[str, Any] = {}
        for label, url, params in routes:
            if params.get("cursor") is None and "cursor" in params:
                table.add(label, "-", "-", "no such page")
                continue
            say(f"timing {label}")
            times, body = latencies(client, url, params, reps)
            table.add(label, ms(percentile(times, 50)), ms(percentile(times, 99)), len(body["items"]))
            measured[label] = {"p50": percentile(times, 50), "p99": percentile(times, 99), "runs": times}
        times, body = latencies(client, series_url, series_params, reps)
        points = [len(s["v"]) for s in body["signals"]]
        label = f"`GET /runs/{{id}}/series`: 5 signals of the {inputs.ensure(cfg.big).spec.label}, max_points=2000"
        table.add(label, ms(percentile(times, 50)), ms(percentile(times, 99)), f"{len(body['signals'])} signals, ≤ {max(points)} points each")
        measured["series"] = {"p50": percentile(times, 50), "p99": percentile(times, 99), "runs": times, "first": series_first_s}
        in_window = sum(s["points_in_window"] for s in first_series["signals"])

    table.notes += [
        f"{n_runs:,} run documents made with ingest's `run_document` (from a decoded synth file, "
        f"setups and times varied) and inserted directly (batches of 1,000: {insert_s:.1f} s); "
        "indexes are ingest's own"
        + (f"; `signal_keys` cut to {keep} per run for SecantusDB's sake" if keep else ""),
        f"series: first request (cold manifest cache) {ms(series_first_s)} ms; "
        f"{in_window:,} samples in the window, decimated min/max per bucket",
    ]
    if stack.backend != "docker" and n_runs < 100_000:
        table.notes.append(
            "100,000 runs: needs a real mongod (`PITWALL_BENCH_BACKEND=docker make bench`, or "
            "`bench/run.py --backend docker`); SecantusDB walks the whole index on sorted "
            "queries, so at that size it measures the development server, not pitwall"
        )
    section.data.update(runs=total, inserted=n_runs, insert_seconds=insert_s, backend=stack.backend, routes=measured)
