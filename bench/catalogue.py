"""Section (issue 23): what the channel catalogue costs the routes that show a signal.

`GET /api/v1/runs/{id}/signals` of the ingested 10-minute synth run (every one of its
signals) and `/series` of 5 signals, p50/p99 over real HTTP, first without any catalogue,
then with a CAN description that names every signal of the run (a unit on each, state
names on its integer signals) and an edit: the most the resolution can cost, since each
key is matched. Side by side in one run, on one stack.
"""

from __future__ import annotations

import re
import time
from typing import Any

from bench.api import ROUTE_BUDGET_S, measure, ok
from bench.context import FIVE_SIGNALS, Context
from bench.ingest import ensure_ingested
from bench.measure import percentile
from bench.report import Section, ms, say

_NAME = re.compile(r"[^A-Za-z0-9_]")


def describing_dbc(tree: dict[str, Any]) -> tuple[bytes, int]:
    """A DBC naming every leaf of every topic of the run (message = topic minus `_data`):
    the bench's input, written as text so it needs no writer. Overlapping bit positions are
    fine: pitwall reads descriptions leniently (cantools `strict=False`)."""
    lines = ['VERSION ""', "", "BU_: CAR", ""]
    named = 0
    for frame, topic in enumerate(tree["topics"], start=1):
        message = _NAME.sub("_", topic["topic"].removesuffix("_data"))
        leaves = sorted({s["path"].rsplit(".", 1)[-1] for s in topic["signals"]})
        lines.append(f"BO_ {frame} {message}: 8 CAR")
        for leaf in leaves:
            if _NAME.search(leaf):
                continue
            lines.append(f' SG_ {leaf} : 0|8@1+ (1,0) [0|255] "u_{leaf[:8]}" CAR')
            named += 1
        lines.append("")
    for frame, topic in enumerate(tree["topics"], start=1):
        for s in topic["signals"]:
            leaf = s["path"].rsplit(".", 1)[-1]
            if s.get("kind") in ("int32", "uint32", "enum") and not _NAME.search(leaf):
                lines.append(f'VAL_ {frame} {leaf} 0 "OFF" 1 "ON" 2 "FAULT" ;')
    return "\n".join(lines).encode(), named


ROUNDS = 4  # without / with alternate this many times: a busy machine's drift hits both alike


def _times(client: Any, url: str, params: dict[str, Any], reps: int) -> tuple[list[float], list[str], Any]:
    st = measure(client, url, params, reps, ROUTE_BUDGET_S)
    return st.times, st.errors, st.body


def _wait_sources(client: Any, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = ok(client.get("/api/v1/catalogue/sources"))["items"]
        if sum(1 for s in items if not s["deleted"]) == count:
            return
        time.sleep(0.2)
    raise RuntimeError("ingest did not store the bench's CAN description in time")


def run(ctx: Context, section: Section) -> None:
    import httpx

    stack, done = ensure_ingested(ctx)
    stack.service("ingest")  # applies catalogue.command
    api = stack.service("query_api")
    reps = ctx.config.requests
    routes = {
        "/signals": (f"/api/v1/runs/{done.run_id}/signals", {}),
        "/series, 5 signals": (f"/api/v1/runs/{done.run_id}/series",
                               {"signals": ",".join(FIVE_SIGNALS), "max_points": 2000}),
    }
    times: dict[tuple[str, str], list[float]] = {(n, c): [] for n in routes for c in ("without", "with")}
    errors: list[str] = []
    editor = {"Authorization": f"Bearer {stack.token('editor')}"}
    per_round = max(3, reps // ROUNDS)
    described = 0
    with httpx.Client(base_url=api.base_url, headers=editor, timeout=60.0) as client:
        tree = ok(client.get(routes["/signals"][0]))
        signals = sum(len(t["signals"]) for t in tree["topics"])
        dbc, named = describing_dbc(tree)
        for n in range(ROUNDS):
            for name, (url, params) in routes.items():
                got, failed, _ = _times(client, url, params, per_round)
                times[(name, "without")] += got
                errors += failed
            say(f"catalogue: round {n + 1} of {ROUNDS}, loading the description")
            answer = client.post("/api/v1/catalogue/sources", files={"file": ("bench.dbc", dbc)})
            if answer.status_code != 202:
                raise RuntimeError(f"loading the bench's description: HTTP {answer.status_code}: {answer.text[:300]}")
            _wait_sources(client, 1)
            client.put(f"/api/v1/catalogue/signals/{FIVE_SIGNALS[0]}", json={"display_name": "Speed"})
            time.sleep(1.0)  # ingest applies the edit; query_api rereads within 0.5 s
            for name, (url, params) in routes.items():
                got, failed, body = _times(client, url, params, per_round)
                times[(name, "with")] += got
                errors += failed
                if name == "/signals" and body:
                    described = sum(1 for t in body["topics"] for s in t["signals"] if s.get("unit"))
            # Back to no catalogue: the source deleted, the edit cleared.
            client.delete(f"/api/v1/catalogue/sources/{answer.json()['id']}")
            client.put(f"/api/v1/catalogue/signals/{FIVE_SIGNALS[0]}", json={"display_name": None})
            _wait_sources(client, 0)
            time.sleep(1.0)
    results: dict[str, Any] = {}
    table = section.table(
        f"catalogue: what resolving units costs, {signals}-signal run (the ingested 10-minute synth run), "
        "sequential requests over HTTP",
        ["route", "p50 ms without", "p50 ms with", "p50 ratio", "p99 ms without", "p99 ms with", "requests"],
    )
    for name in routes:
        a, b = times[(name, "without")], times[(name, "with")]
        p50a, p50b = percentile(a, 50) if a else None, percentile(b, 50) if b else None
        p99a, p99b = percentile(a, 99) if a else None, percentile(b, 99) if b else None
        ratio = p50b / p50a if p50a and p50b else None
        results[name] = {"p50_without": p50a, "p50_with": p50b, "p99_without": p99a, "p99_with": p99b,
                         "ratio": ratio, "requests": [len(a), len(b)]}
        table.add(name, ms(p50a), ms(p50b), f"{ratio:.2f}" if ratio else "-", ms(p99a), ms(p99b),
                  f"{len(a)} + {len(b)}")
    table.notes += [
        f"with: a DBC naming every leaf of the run ({named} signal definitions; {described} of {signals} "
        "signals get a unit) with state names on its integer signals, plus one edit; query_api rereads the "
        "catalogue when its generation moves and resolves a run once per generation",
        f"{ROUNDS} rounds of without / with ({per_round} requests per route each, after a warm-up request), "
        "the description loaded and deleted between them, so the machine's drift falls on both alike",
    ]
    if errors:
        table.notes.append(f"{len(errors)} failed requests (not timed): {errors[0]}")
    section.data.update(signals=signals, named=named, described=described, routes=results)
