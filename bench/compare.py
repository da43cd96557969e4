"""`GET /api/v1/compare`: 2 laps x 5 signals of the ingested 10-minute run, p50/p99 over HTTP.

Beside it, the plain approach a script or a page would take without the endpoint: fetch
each lap's 5 signals and its GPS position undecimated through `/series`, then align them
by distance in numpy on the client (the same math, `pitwall.common.lapcompare`), so the
ratio is what doing it server-side on the signal store saves.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.api import ROUTE_BUDGET_S, measure, ok
from bench.context import FIVE_SIGNALS, Context
from bench.ingest import ensure_ingested
from bench.measure import percentile
from bench.report import Section, ms, say


def _plain(client: Any, run_id: str, laps: list[dict[str, Any]], track: dict[str, Any], points: int) -> float:
    from pitwall.common import lapcompare as lc

    began = time.perf_counter()
    lat_key, lon_key = f"{track['topic']}:{track['lat_path']}", f"{track['topic']}:{track['lon_path']}"
    paths, values = [], []
    for lap in laps:
        params = {"signals": ",".join([*FIVE_SIGNALS, lat_key, lon_key]), "start": lap["start_s"] - 1,
                  "end": lap["end_s"] + 1, "max_points": 200_000}
        body = ok(client.get(f"/api/v1/runs/{run_id}/series", params=params))
        by = {s["key"]: (np.asarray(s["t"], float), np.array([np.nan if v is None else v for v in s["v"]], float))
              for s in body["signals"]}
        t, lat = by[lat_key]
        paths.append(lc.gps_path(t, lat, by[lon_key][1], lap["start_s"], lap["end_s"]))
        values.append(by)
    aligned = lc.align(paths, 0, "distance", points)
    for i, lap in enumerate(laps):
        at = lap["start_s"] + aligned.time[i]
        for key in FIVE_SIGNALS:
            lc.values_at(*values[i][key], at, step=False)
    return time.perf_counter() - began


def run(ctx: Context, section: Section) -> None:
    import httpx

    cfg = ctx.config
    stack, done = ensure_ingested(ctx)
    api = stack.service("query_api")
    token = stack.token("viewer")
    table = section.table(
        "compare: `GET /api/v1/compare`, 2 laps x 5 signals of the ingested 10-minute run, points=1000, "
        "sequential requests",
        ["route", "p50 ms", "p99 ms", "requests", "failed", "vs plain p50"],
    )
    results: dict[str, Any] = {}
    with httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120.0) as client:
        run_doc = ok(client.get(f"/api/v1/runs/{done.run_id}"))
        laps = sorted(run_doc["laps"], key=lambda lap: lap["time_s"])
        if len(laps) < 2:
            raise RuntimeError(f"the bench run has {len(laps)} laps; the compare bench needs 2")
        best, other = laps[0], laps[-1]
        say(f"compare: laps {best['lap']} and {other['lap']}")
        plain = [_plain(client, done.run_id, [best, other], run_doc["track"], 1000)
                 for _ in range(max(3, min(cfg.requests, 10)))]
        plain_p50 = percentile(plain, 50)
        table.add("plain: /series undecimated + align on the client", ms(plain_p50), ms(percentile(plain, 99)),
                  str(len(plain)), "0", "1.0×")
        for x in ("distance", "time"):
            params = {"laps": f"{done.run_id}:{best['lap']},{done.run_id}:{other['lap']}",
                      "signals": ",".join(FIVE_SIGNALS), "x": x, "points": 1000}
            st = measure(client, "/api/v1/compare", params, cfg.requests, ROUTE_BUDGET_S)
            p50 = percentile(st.times, 50) if st.times else None
            p99 = percentile(st.times, 99) if st.times else None
            ratio = f"{plain_p50 / p50:.1f}× faster" if p50 else "–"
            table.add(f"/compare x={x}", ms(p50), ms(p99), str(st.requests),
                      f"{len(st.errors)}" if not st.errors else f"{len(st.errors)}: {st.errors[0]}", ratio)
            results[x] = {"p50": p50, "p99": p99, "times": st.times, "errors": st.errors}
        results["plain"] = {"p50": plain_p50, "times": plain}
    table.notes.append(
        f"laps {best['lap']} ({best['time_s']:.2f} s) and {other['lap']} ({other['time_s']:.2f} s), signals "
        f"{', '.join(FIVE_SIGNALS)}; the plain route moves every sample of both laps as JSON "
        "(5 signals + latitude + longitude)"
    )
    section.data["compare"] = results
