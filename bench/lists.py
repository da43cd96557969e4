"""Section 'lists' (issue 14): `GET /api/v1/runs` over 1,000, 10,000 and 100,000 runs.

Run documents are made with ingest's own `run_document` from a decoded synth file
(setups, names and start times varied, as in the api section) and their summaries
with the same `run_summary` ingest uses; both are bulk-inserted on top of the indexes
ingest creates (`repository.ensure_indexes`). Nothing goes through ingest: 100,000
files would take hours.

Each route is measured through a real query_api process (`pitwall service query_api`),
p50/p99 of sequential requests after one warm-up, beside the old route: a second
query_api whose list handler is the one before `run_summaries` (its `queries.py` read
from git, commit OLD_COMMIT, reading the big run documents with the same filters),
so the ratio is measured, not estimated. The old route is measured up to OLD_MAX_RUNS:
inserting big run documents into SecantusDB is slow (see the notes it prints).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.api import CARS, DRIVERS, EVENTS, TRACKS, measure, ok, template_document
from bench.context import REPO, Context
from bench.measure import percentile
from bench.report import Section, ms, ratio, say

# The last commit whose list route read `runs` (before run_summaries).
OLD_COMMIT = "b8af6a8"
OLD_MAX_RUNS = 10_000
TIERS = (1_000, 10_000, 100_000)
QUICK_TIERS = (300, 2_000)
DEEP = 5_000  # runs into the listing for the deep page (or half of what matches)
LIMIT = 50
BUDGET_S = 25.0  # per route: fewer requests when each is slow (at least 4)
# SecantusDB indexes array entries in Python (~0.1 ms each): runs keep 40 signal keys
# (as in the api section) and 8 topics, so 100,000 summaries insert in minutes.
KEEP_SIGNAL_KEYS = 40
KEEP_TOPICS = 8
T0_NS = 1_640_995_200_000_000_000  # 2022-01-01
STEP_NS = 3 * 3600 * 10**9  # a run every ~3 hours


def _vary(template: dict[str, Any], i: int, rng: Any) -> dict[str, Any]:
    """Run i: the template with its own id, name, start time and setup (shallow: the
    big nested parts are shared, never modified)."""
    from pitwall.common.contracts.searchwords import word_set as tokens

    sha = f"{rng.getrandbits(256):064x}"
    start = T0_NS + i * STEP_NS + rng.randrange(3600 * 10**9)
    length = rng.randrange(60, 1800) * 10**9
    setup = dict(template.get("setup") or {})
    setup.update(driver=rng.choice(DRIVERS), track=rng.choice(TRACKS), event_type=rng.choice(EVENTS),
                 car=rng.choice(CARS))
    filename = f"{setup['event_type']}_{i:06d}.mcap"
    # Uploaded minutes to days after the recording ends, so upload order differs from start order.
    uploaded = datetime.fromtimestamp((start + length) / 1e9 + rng.randrange(60, 3 * 86400), UTC)
    return {
        **template, "_id": sha, "sha256": sha, "object_key": f"mcap/{sha}.mcap", "filename": filename,
        "start_ns": start, "end_ns": start + length, "duration_s": length / 1e9,
        "start_time": datetime.fromtimestamp(start / 1e9, UTC),
        "end_time": datetime.fromtimestamp((start + length) / 1e9, UTC),
        "setup": setup, "search": tokens(filename, *(v for v in setup.values() if isinstance(v, str))),
        "uploads": [{**template["uploads"][0], "event_id": f"bench-{sha[:16]}", "filename": filename}],
        "ingested_at": uploaded, "updated_at": uploaded,
    }


class Filler:
    """Tops the database up to n runs: summaries always, big run documents up to OLD_MAX_RUNS."""

    def __init__(self, settings: Any, template: dict[str, Any]) -> None:
        import random

        from pymongo import MongoClient

        self.client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url, tz_aware=True)
        self.db = self.client[settings.mongo_db]
        self.template = template
        self.rng = random.Random(5)
        self.count = 0
        self.drivers: dict[str, int] = {}
        self.starts: list[int] = []
        self.seconds = {"runs": 0.0, "summaries": 0.0}
        self.inserted = {"runs": 0, "summaries": 0}

    def fill(self, n: int, batch: int = 1000, insert_batch: int = 50) -> None:
        from pitwall.common.contracts import mongo
        from pitwall.common.summaries import run_summary

        while self.count < n:
            docs = [_vary(self.template, i, self.rng) for i in range(self.count, min(n, self.count + batch))]
            for d in docs:
                self.drivers[d["setup"]["driver"]] = self.drivers.get(d["setup"]["driver"], 0) + 1
                self.starts.append(d["start_ns"])
            if self.count < OLD_MAX_RUNS:
                old = docs[: OLD_MAX_RUNS - self.count]
                t = time.perf_counter()
                for k in range(0, len(old), insert_batch):  # SecantusDB: small inserts are far faster
                    self.db[mongo.RUNS].insert_many(old[k : k + insert_batch], ordered=False)
                self.seconds["runs"] += time.perf_counter() - t
                self.inserted["runs"] += len(old)
            t = time.perf_counter()
            sums = [run_summary(d) for d in docs]
            for k in range(0, len(sums), insert_batch):
                self.db[mongo.RUN_SUMMARIES].insert_many(sums[k : k + insert_batch], ordered=False)
            self.seconds["summaries"] += time.perf_counter() - t
            self.inserted["summaries"] += len(docs)
            self.count += len(docs)
            if self.count % 10_000 == 0:
                say(f"{self.count:,} runs inserted")

    def close(self) -> None:
        self.client.close()


def _indexes(settings: Any) -> None:
    """Ingest's indexes, and on `runs` the list indexes it had before summaries (what
    the old route walked)."""
    from pymongo import IndexModel

    from pitwall.common import db
    from pitwall.common.contracts import mongo
    from pitwall.ingest import repository

    async def go() -> None:
        client = db.make_client(settings)
        try:
            database = db.database(client, settings)
            await repository.ensure_indexes(database)
            old = [IndexModel(list(m.document["key"].items()), name=m.document["name"])
                   for m in repository.INDEXES[mongo.RUN_SUMMARIES]]
            by_keys = [("signal_keys", 1), ("deleted", 1), ("start_ns", -1), ("_id", -1)]
            await database[mongo.RUNS].create_indexes([*old, IndexModel(by_keys, name="by_signal_keys")])
        finally:
            await client.close()

    asyncio.run(go())


def _old_route(stack: Any, folder: Path) -> tuple[Any | None, str]:
    """A query_api whose list handler is the one of OLD_COMMIT: its queries.py, run
    over the big run documents (`sitecustomize` swaps them in before the app starts)."""
    from pitwall.devstack.ports import free_port
    from pitwall.devstack.services import ServiceProcess

    try:
        source = subprocess.run(
            ["git", "show", f"{OLD_COMMIT}:services/query_api/src/pitwall/query_api/queries.py"],
            cwd=REPO, check=True, capture_output=True, text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"old route not measured: no git history for {OLD_COMMIT} ({exc})"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "legacy_queries.py").write_text(source)
    # Python only prints an exception raised in sitecustomize: exit instead, so a
    # broken swap can never be measured as "the old route".
    (folder / "sitecustomize.py").write_text(
        "import importlib.util, sys\n"
        "try:\n"
        f"    spec = importlib.util.spec_from_file_location('legacy_queries', {str(folder / 'legacy_queries.py')!r})\n"
        "    legacy = importlib.util.module_from_spec(spec)\n"
        "    sys.modules['legacy_queries'] = legacy\n"
        "    spec.loader.exec_module(legacy)\n"
        "    from pitwall.query_api import readmodel\n"
        "    from pitwall.query_api.domain import runs as domain\n"
        "    domain.list_runs = legacy.list_runs\n"
        "    readmodel.summaries = readmodel.runs\n"
        "except Exception as exc:\n"
        "    raise SystemExit(f'old route: {exc!r}') from exc\n"
    )
    port = free_port()
    stack.ports.append(port)
    env = dict(stack.env) | {"PITWALL_HTTP_PORT": str(port), "PYTHONPATH": str(folder)}
    proc = ServiceProcess("query_api", env, stack.logs / "query_api-old-route.log", http_port=port).start()
    stack.services["query_api-old-route"] = proc
    proc.wait_ready(timeout=120)
    return proc, f"old route: query_api with the list code of {OLD_COMMIT} (queries.py from git) over `runs`"


def _cursor(client: Any, params: dict[str, Any], depth: int) -> tuple[str | None, int]:
    cursor, seen = None, 0
    while seen < depth:
        page = {"limit": min(500, depth - seen), **({"cursor": cursor} if cursor else {})}
        body = ok(client.get("/api/v1/runs", params={**params, **page}))
        if not body.get("next_cursor"):
            break
        cursor, seen = body["next_cursor"], seen + len(body["items"])
    return cursor, seen


def _routes(fill: Filler, client: Any) -> list[tuple[str, str, dict[str, Any] | None]]:
    n = fill.count
    driver = DRIVERS[0]
    matching = fill.drivers.get(driver, 0)
    starts = sorted(fill.starts)
    after = datetime.fromtimestamp(starts[int(n * 0.7)] / 1e9, UTC).isoformat()
    before = datetime.fromtimestamp(starts[int(n * 0.9)] / 1e9, UTC).isoformat()
    track_word = TRACKS[1].split()[0][:5]
    filters: list[tuple[str, dict[str, Any]]] = [
        ("unfiltered", {}),
        (f"driver ({matching:,} match)", {"driver": driver}),
        ("track", {"track": TRACKS[1]}),
        ("date range (20 % of runs)", {"recorded_after": after, "recorded_before": before}),
        ("text `q=skidpad`", {"q": "skidpad"}),
        # Issue 21: upload order and word starts (the old route has neither: new side only).
        ("sort `-uploaded`", {"sort": "-uploaded"}),
        ("sort `uploaded`", {"sort": "uploaded"}),
        ("sort `start` (oldest first)", {"sort": "start"}),
        ("driver, sort `-uploaded`", {"driver": driver, "sort": "-uploaded"}),
        ("text word start `q=skid`", {"q": "skid"}),
        (f"track word start `track={track_word}`", {"track": track_word}),
    ]
    out: list[tuple[str, str, dict[str, Any] | None]] = []
    for name, params in filters:
        out.append(("first", name, {"limit": LIMIT, **params}))
    for name, params, depth in (("unfiltered", {}, min(DEEP, n // 2)),
                                (filters[1][0], {"driver": driver}, min(DEEP, matching // 2)),
                                ("sort `-uploaded`", {"sort": "-uploaded"}, min(DEEP, n // 2))):
        cursor, at = _cursor(client, params, depth)
        out.append((f"deep ({at:,} in)", name, {"limit": LIMIT, **params, "cursor": cursor} if cursor else None))
    return out


def _old_understands(params: dict[str, Any]) -> bool:
    """The old route knew neither upload order nor word starts: measured on the new side only."""
    return params.get("sort") in (None, "-start", "start") and params.get("q") in (None, "skidpad") \
        and params.get("track") in (None, *TRACKS)


def _stats(
    client: Any, params: dict[str, Any], reps: int, budget: float
) -> tuple[float | None, float | None, int, list[str]]:
    st = measure(client, "/api/v1/runs", params, reps, budget)
    p50 = percentile(st.times, 50) if st.times else None
    p99 = percentile(st.times, 99) if st.times else None
    return p50, p99, st.requests, st.errors


def run(ctx: Context, section: Section) -> None:
    import httpx

    cfg = ctx.config
    stack = ctx.get_stack()
    tiers = cfg.list_tiers or (QUICK_TIERS if cfg.quick else TIERS)
    template = template_document(cfg.tiny)
    template["signal_keys"] = template["signal_keys"][:KEEP_SIGNAL_KEYS]
    template["topics"] = template["topics"][:KEEP_TOPICS]
    _indexes(stack.settings)
    api = stack.service("query_api")
    old, old_note = _old_route(stack, Path(tempfile.mkdtemp(prefix="pitwall-bench-old-route-", dir=stack.root)))
    token = stack.token("viewer")
    headers = {"Authorization": f"Bearer {token}"}
    table = section.table(
        f"lists: `GET /api/v1/runs` (limit {LIMIT}) over HTTP, run_summaries vs the old route over `runs` "
        f"({stack.backend} back-end, MongoDB: {'mongod' if stack.backend == 'docker' else 'SecantusDB'})",
        ["runs", "page", "filter", "p50 ms", "p99 ms", "requests", "old p50 ms", "old p99 ms", "old requests",
         "p99 old/new", "items"],
    )
    results: dict[str, Any] = {}
    fill = Filler(stack.settings, template)
    checks: dict[int, float | None] = {}
    try:
        with httpx.Client(base_url=api.base_url, headers=headers, timeout=120.0) as new_c, \
             httpx.Client(base_url=old.base_url if old else api.base_url, headers=headers, timeout=120.0) as old_c:
            for n in tiers:
                say(f"filling to {n:,} runs")
                fill.fill(n)
                tier: dict[str, Any] = {}
                for page, name, params in _routes(fill, new_c):
                    if params is None:
                        table.add(f"{n:,}", page, name, "-", "-", "0", "-", "-", "0", "-", "not reached")
                        continue
                    say(f"{n:,} runs: {page} page, {name}")
                    p50, p99, reqs, errors = _stats(new_c, params, cfg.requests, BUDGET_S)
                    items = len(ok(new_c.get("/api/v1/runs", params=params))["items"])
                    o50 = o99 = None
                    oreqs = 0
                    oerr: list[str] = []
                    if old is not None and n <= OLD_MAX_RUNS and _old_understands(params):
                        o50, o99, oreqs, oerr = _stats(old_c, params, cfg.requests, BUDGET_S)
                    for route, failed in (("run_summaries", errors), ("old route", oerr)):
                        if failed:
                            table.notes.append(f"{n:,} runs, {page} page {name}, {route}: {len(failed)} failed "
                                               f"requests ({failed[0]})")
                    table.add(f"{n:,}", page, name, ms(p50), ms(p99), str(reqs), ms(o50), ms(o99),
                              str(oreqs) if oreqs else "-",
                              ratio(o99 / p99) if o99 and p99 else "-", str(items))
                    tier[f"{page} {name}"] = {"p50": p50, "p99": p99, "old_p50": o50, "old_p99": o99, "requests": reqs}
                    if page == "first" and name == "unfiltered":
                        checks[n] = p99
                results[str(n)] = tier
    finally:
        fill.close()
    for n, p99 in checks.items():
        if n == 10_000:
            section.check("`GET /runs` first page at 10,000 runs, p99", f"{ms(p99)} ms", "< 100 ms",
                          p99 is not None and p99 < 0.1)
    rate_s = fill.inserted["summaries"] / fill.seconds["summaries"] if fill.seconds["summaries"] else 0
    rate_r = fill.inserted["runs"] / fill.seconds["runs"] if fill.seconds["runs"] else 0
    table.notes += [
        f"inserted {fill.inserted['summaries']:,} summaries in {fill.seconds['summaries']:.0f} s ({rate_s:.0f}/s) and "
        f"{fill.inserted['runs']:,} run documents in {fill.seconds['runs']:.0f} s ({rate_r:.0f}/s) "
        f"(run documents only up to {OLD_MAX_RUNS:,}: the old route is not measured beyond)",
        f"documents from ingest's own `run_document` / `run_summary`; {KEEP_SIGNAL_KEYS} signal keys and "
        f"{KEEP_TOPICS} topics kept per run so SecantusDB can index them in minutes",
        f"{old_note}; same filters, same cursor (the cursor format did not change)",
        f"up to {cfg.requests} sequential requests per route after one warm-up, fewer when slow "
        f"({BUDGET_S:.0f} s budget per route and server); the machine may be busy: see the load average",
        "rerun: `.venv/bin/python bench/run.py --only lists` (about 15 minutes; `--quick` for a smoke test)",
    ]
    section.data.update(tiers=list(tiers), routes=results, inserted=fill.inserted, insert_seconds=fill.seconds)


if __name__ == "__main__":
    sys.exit("run through bench/run.py --only lists")
