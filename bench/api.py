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
from dataclasses import dataclass, field
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
ROUTE_BUDGET_S = 25.0
T0_NS = 1_640_995_200_000_000_000  # 2022-01-01: three seasons of runs from here


def template_document(spec: inputs.Spec) -> dict[str, Any]:
    """A run document as ingest builds it, from a decoded (short) synth file."""
    from pitwall.common.events import FileUploaded
    from pitwall.common.mcapread import read_recording
    from pitwall.ingest.digest import Digest
    from pitwall.ingest.documents import run_document

    tiny = inputs.ensure(spec)
    rec = read_recording(tiny.path)
    event = FileUploaded(sha256="0" * 64, object_key="mcap/x.mcap", size=tiny.size, filename=tiny.path.name,
                         source="cli")
    return run_document(Digest.of(rec), event)


def run_documents(
    template: dict[str, Any], count: int, *, max_signal_keys: int | None = None, seed: int = 5
) -> list[dict[str, Any]]:
    """`count` runs varied from the template: ids, names, start times and setups."""
    from pitwall.common.contracts.searchwords import word_set as tokens

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
        setup.update(driver=rng.choice(DRIVERS), track=rng.choice(TRACKS), event_type=rng.choice(EVENTS),
                     car=rng.choice(CARS))
        filename = f"{setup['event_type']}_{i:06d}.mcap"
        doc.update(
            _id=sha, sha256=sha, object_key=f"mcap/{sha}.mcap", filename=filename,
            start_ns=start, end_ns=start + length, duration_s=length / 1e9,
            start_time=datetime.fromtimestamp(start / 1e9, UTC),
            end_time=datetime.fromtimestamp((start + length) / 1e9, UTC),
            setup=setup, search=tokens(filename, *(v for v in setup.values() if isinstance(v, str))),
        )
        doc["uploads"] = [{**doc["uploads"][0], "event_id": f"bench-{sha[:16]}", "filename": filename}]
        docs.append(doc)
    return docs


def insert_runs(settings: Any, docs: list[dict[str, Any]], batch: int = 50) -> float:
    # Small batches: SecantusDB's cost per document grows with the size of one insert.
    from pymongo import MongoClient

    from pitwall.common.contracts.mongo import RUN_SUMMARIES as COLLECTION
    from pitwall.common.summaries import run_summary

    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url, tz_aware=True)
    try:
        runs = client[settings.mongo_db]["runs"]
        summaries = client[settings.mongo_db][COLLECTION]
        start = time.perf_counter()
        for i in range(0, len(docs), batch):
            runs.insert_many(docs[i : i + batch], ordered=False)
            summaries.insert_many([run_summary(d) for d in docs[i : i + batch]], ordered=False)
        return time.perf_counter() - start
    finally:
        client.close()


@dataclass
class RouteStats:
    times: list[float] = field(default_factory=list)  # seconds of each answered request
    errors: list[str] = field(default_factory=list)
    body: Any = None

    @property
    def requests(self) -> int:
        return len(self.times) + len(self.errors)


def measure(client: Any, url: str, params: dict[str, Any], reps: int, budget_s: float) -> RouteStats:
    """Up to `reps` sequential requests after one warm-up, fewer when each is slow
    (at least 3 within `budget_s`). Failed requests are counted, not timed."""
    stats = RouteStats()
    began = time.perf_counter()
    for i in range(reps + 1):
        if i >= 4 and time.perf_counter() - began > budget_s:
            break
        start = time.perf_counter()
        try:
            response = client.get(url, params=params)
        except Exception as exc:  # a dropped connection is a result too
            response, error = None, f"{type(exc).__name__}"
        seconds = time.perf_counter() - start
        if response is not None and response.status_code == 200:
            stats.body = response.json()
            error = ""
        elif response is not None:
            error = f"HTTP {response.status_code} after {seconds:.1f} s"
        if i == 0:
            continue  # warm-up
        if error:
            stats.errors.append(error)
        else:
            stats.times.append(seconds)
    return stats


def ok(response: Any) -> Any:
    if response.status_code != 200:
        raise RuntimeError(f"GET {response.request.url} -> {response.status_code}: {response.text[:300]}")
    return response.json()


def cursor_at(client: Any, params: dict[str, Any], depth: int) -> tuple[str | None, int]:
    """A cursor about `depth` runs into the listing, walked with the largest pages
    (a cursor names the last run seen and the filters, not the page size)."""
    cursor = None
    seen = 0
    while seen < depth:
        page = {**params, "limit": min(500, depth - seen), **({"cursor": cursor} if cursor else {})}
        body = ok(client.get("/api/v1/runs", params=page))
        if not body.get("next_cursor"):
            break
        cursor = body["next_cursor"]
        seen += len(body["items"])
    return cursor, seen


def tier(ctx: Context, stack: Any, client: Any, table: Any, total: int, driver: str, matching: int) -> dict[str, Any]:
    cfg = ctx.config
    limit = 50
    measured: dict[str, Any] = {}
    try:
        say(f"{total:,} runs: walking to a deep cursor")
        deep_cursor, deep_at = cursor_at(client, {}, total // 2)
        f_cursor, f_at = cursor_at(client, {"driver": driver}, matching // 2)
    except Exception as exc:
        deep_cursor = f_cursor = None
        deep_at = f_at = 0
        table.notes.append(f"{total:,} runs: could not walk to the deep pages: {exc}")
    routes: list[tuple[str, dict[str, Any] | None]] = [
        (f"`GET /runs` first page (limit {limit})", {"limit": limit}),
        (f"`GET /runs?driver=…` first page ({matching:,} match)", {"limit": limit, "driver": driver}),
        (f"`GET /runs` deep keyset page ({deep_at:,} runs in)",
         {"limit": limit, "cursor": deep_cursor} if deep_cursor else None),
        (f"`GET /runs?driver=…` deep keyset page ({f_at:,} runs in)",
         {"limit": limit, "driver": driver, "cursor": f_cursor} if f_cursor else None),
    ]
    for label, params in routes:
        if params is None:
            table.add(f"{total:,}", label, "-", "-", "0", "not reached", "-")
            continue
        say(f"{total:,} runs: {label}")
        st = measure(client, "/api/v1/runs", params, cfg.requests, ROUTE_BUDGET_S)
        p50 = percentile(st.times, 50) if st.times else None
        p99 = percentile(st.times, 99) if st.times else None
        errors = f"{len(st.errors)}: {st.errors[0]}" if st.errors else "0"
        items = len(st.body["items"]) if st.body else "-"
        table.add(f"{total:,}", label, ms(p50), ms(p99), str(st.requests), errors, items)
        measured[label] = {"p50": p50, "p99": p99, "times": st.times, "errors": st.errors}
    return measured


def run(ctx: Context, section: Section) -> None:
    import httpx

    cfg = ctx.config
    stack, done = ensure_ingested(ctx)
    api = stack.service("query_api")
    token = stack.token("viewer")
    tiers = cfg.run_tiers(stack.backend)
    # SecantusDB indexes every array entry in Python: a run with all 865 signal keys takes
    # ~55 ms to insert there (5,000 runs: 5 minutes). Locally the bulk runs keep 40 of them;
    # a real mongod gets the full shape.
    keep = None if stack.backend == "docker" else KEYS_LOCAL
    docs = run_documents(template_document(cfg.tiny), max(tiers), max_signal_keys=keep)
    driver = DRIVERS[0]
    table = section.table(
        f"api: `GET /api/v1/runs` over HTTP ({stack.backend} back-end, MongoDB: "
        f"{'mongod' if stack.backend == 'docker' else 'SecantusDB'}), sequential requests",
        ["runs", "route", "p50 ms", "p99 ms", "requests", "failed", "items"],
    )
    results: dict[str, Any] = {}
    inserted = 0
    insert_s = 0.0
    with httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0) as client:
        for n in tiers:
            say(f"inserting {n - inserted:,} run documents")
            insert_s += insert_runs(stack.settings, docs[inserted:n])
            inserted = n
            matching = sum(1 for d in docs[:n] if d["setup"]["driver"] == driver)
            results[str(n)] = tier(ctx, stack, client, table, n + 1, driver, matching)

        say("series")
        series = section.table(
            f"api: `GET /api/v1/runs/{{id}}/series`, 5 signals of the ingested {inputs.ensure(cfg.big).spec.label}, "
            "max_points=2000",
            ["route", "p50 ms", "p99 ms", "requests", "failed", "points"],
        )
        url = f"/api/v1/runs/{done.run_id}/series"
        params: dict[str, Any] = {"signals": ",".join(FIVE_SIGNALS), "max_points": 2000}
        start = time.perf_counter()
        first = ok(client.get(url, params=params))
        first_s = time.perf_counter() - start
        st = measure(client, url, params, cfg.requests, ROUTE_BUDGET_S)
        p50 = percentile(st.times, 50) if st.times else None
        p99 = percentile(st.times, 99) if st.times else None
        points = [len(s["v"]) for s in first["signals"]]
        series.add(
            "5 signals, whole run", ms(p50), ms(p99), str(st.requests),
            f"{len(st.errors)}" if not st.errors else f"{len(st.errors)}: {st.errors[0]}",
            f"{len(points)} signals, ≤ {max(points)} points each",
        )
        in_window = sum(s["points_in_window"] for s in first["signals"])
        series.notes.append(
            f"first request (cold manifest cache): {ms(first_s)} ms; {in_window:,} samples in the "
            "run, reduced to each bucket's min and max; read by ranged GETs of the Parquet columns in S3"
        )
        results["series"] = {"p50": p50, "p99": p99, "times": st.times, "errors": st.errors, "first": first_s}

    table.notes += [
        f"run documents made with ingest's own `run_document` from a decoded synth file (setups, "
        f"names and start times varied) and inserted directly ({inserted:,} in {insert_s:.0f} s); "
        "the indexes are the ones ingest creates"
        + (f"; `signal_keys` cut to {keep} per run so SecantusDB can insert them" if keep else ""),
        f"up to {cfg.requests} requests per route after one warm-up, fewer when each takes long "
        f"(a {ROUTE_BUDGET_S:.0f} s budget per route); failed requests are counted, not timed",
    ]
    if stack.backend != "docker":
        table.notes.append(
            "100,000 runs needs a real mongod: `bench/run.py --backend docker` (or "
            "PITWALL_BENCH_BACKEND=docker make bench) where a Docker engine runs. SecantusDB, the "
            "local development server, reads every document of the index walk in Python "
            "(~1 ms each for these documents), so the unfiltered listing here measures it, not pitwall"
        )
    section.data.update(tiers=tiers, insert_seconds=insert_s, backend=stack.backend, routes=results,
                        signal_keys_kept=keep)
