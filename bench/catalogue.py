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


def _route(client: Any, url: str, params: dict[str, Any], reps: int) -> dict[str, Any]:
    st = measure(client, url, params, reps, ROUTE_BUDGET_S)
    return {"p50": percentile(st.times, 50) if st.times else None,
            "p99": percentile(st.times, 99) if st.times else None,
            "requests": st.requests, "errors": st.errors, "body": st.body}


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
    results: dict[str, dict[str, Any]] = {}
    editor = {"Authorization": f"Bearer {stack.token('editor')}"}
    with httpx.Client(base_url=api.base_url, headers=editor, timeout=60.0) as client:
        tree = ok(client.get(routes["/signals"][0]))
        signals = sum(len(t["signals"]) for t in tree["topics"])
        for name, (url, params) in routes.items():
            say(f"catalogue: {name} without a catalogue")
            results[f"{name} without"] = _route(client, url, params, reps)
        dbc, named = describing_dbc(tree)
        answer = client.post("/api/v1/catalogue/sources", files={"file": ("bench.dbc", dbc)})
        if answer.status_code != 202:
            raise RuntimeError(f"loading the bench's CAN description: HTTP {answer.status_code}: {answer.text[:300]}")
        source_id = answer.json()["id"]
        _wait_sources(client, 1)
        ok_edit = client.put(f"/api/v1/catalogue/signals/{FIVE_SIGNALS[0]}", json={"display_name": "Speed"})
        if ok_edit.status_code != 202:
            raise RuntimeError(f"editing a key: HTTP {ok_edit.status_code}")
        time.sleep(1.0)
        for name, (url, params) in routes.items():
            say(f"catalogue: {name} with a catalogue")
            results[f"{name} with"] = _route(client, url, params, reps)
        described = sum(1 for t in results["/signals with"]["body"]["topics"] for s in t["signals"] if s.get("unit"))
        # And without again (source deleted, edit cleared): drift of a busy machine shows as
        # a difference between the two `without` rounds, and their mean is the baseline.
        client.delete(f"/api/v1/catalogue/sources/{source_id}")
        client.put(f"/api/v1/catalogue/signals/{FIVE_SIGNALS[0]}", json={"display_name": None})
        _wait_sources(client, 0)
        time.sleep(1.0)
        for name, (url, params) in routes.items():
            say(f"catalogue: {name} without a catalogue, again")
            results[f"{name} again"] = _route(client, url, params, reps)
    table = section.table(
        f"catalogue: what resolving units costs, {signals}-signal run (the ingested 10-minute synth run), "
        "sequential requests over HTTP",
        ["route", "p50 ms without (1st, 2nd)", "p50 ms with", "p50 ratio", "p99 ms without", "p99 ms with",
         "requests"],
    )
    for name in routes:
        a, b, c = results[f"{name} without"], results[f"{name} with"], results[f"{name} again"]
        base = (a["p50"] + c["p50"]) / 2 if a["p50"] and c["p50"] else None
        ratio = b["p50"] / base if base and b["p50"] else None
        results[name] = {"p50_without": base, "p50_with": b["p50"], "ratio": ratio}
        table.add(name, f"{ms(base)} ({ms(a['p50'])}, {ms(c['p50'])})", ms(b["p50"]),
                  f"{ratio:.2f}" if ratio else "-", ms(max(a["p99"] or 0, c["p99"] or 0)), ms(b["p99"]),
                  f"{a['requests']} + {b['requests']} + {c['requests']}")
    table.notes += [
        f"with: a DBC naming every leaf of the run ({named} signal definitions; {described} of {signals} "
        "signals get a unit) with state names on its integer signals, plus one edit; the catalogue is read "
        "once per change (its generation is checked per request) and matched per request",
        "measured without, with, then without again (source deleted, edit cleared) on the same stack and run; "
        "the baseline is the mean of the two `without` p50s; warm-up request excluded",
    ]
    section.data.update(signals=signals, named=named, described=described, routes={
        k: {f: v for f, v in r.items() if f not in ("body", "times")} for k, r in results.items()})
