"""The load run as markdown tables: endpoints, services, jobs (printed and written)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.load.checks import JobCheck
from bench.load.locustrun import Endpoint, LocustResult, Plan
from bench.load.sampler import Sampler


@dataclass(frozen=True)
class Context:
    plan: Plan
    converters: int
    seeded_runs: int
    backend: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    started_at: str
    command: str
    seeded_laps: int = 0
    log_levels: dict[str, dict[str, int]] = field(default_factory=dict)  # service -> warning/error lines


def log_levels(text: str) -> dict[str, int]:
    """Lines of a service's JSON log at warning and at error (tracebacks counted as errors)."""
    return {
        "warning": text.count('"level": "warning"'),
        "error": text.count('"level": "error"') + text.count('"level": "critical"')
        + text.count("Traceback (most recent call last)"),
    }


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _mb(value: int) -> str:
    return f"{value / 2**20:,.0f} MB"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _endpoint_row(ep: Endpoint, label: str | None = None) -> list[str]:
    return [
        label or f"`{ep.method} {ep.name}`", f"{ep.requests:,}", f"{ep.rps:.2f}", _ms(ep.p50_ms), _ms(ep.p95_ms),
        _ms(ep.p99_ms), _ms(ep.max_ms), str(ep.failures), str(ep.server_errors),
    ]


def render(ctx: Context, locust: LocustResult, sampler: Sampler, jobs: JobCheck) -> str:
    p = ctx.plan
    la, lb = ctx.load_before, ctx.load_after
    out = [
        f"### Load ({ctx.started_at})",
        "",
        f"_{p.users} API users (viewers : editors 3 : 1, think time 0.5-2.5 s) "
        f"for {p.run_time_s} s, 1 uploader (a new synth file every {p.upload_every_s:g} s), "
        f"{ctx.converters} converter(s), {ctx.seeded_runs} seeded runs ({ctx.seeded_laps} laps); "
        f"back-end {ctx.backend}; "
        f"load average {la[0]:.1f} before, {lb[0]:.1f} after, on the same machine as Locust itself_",
        "",
        f"`{ctx.command}`",
        "",
        "#### Endpoints (Locust, per endpoint template; times in ms)",
        "",
    ]
    rows = [_endpoint_row(ep) for ep in sorted(locust.endpoints, key=lambda e: (e.name, e.method))]
    if locust.total is not None:
        rows.append(_endpoint_row(locust.total, "**all**"))
    out += _table(["endpoint", "requests", "req/s", "p50", "p95", "p99", "max", "failures", "≥ 500"], rows)
    out.append("\n- `≥ 500` counts every response Locust saw (its request hook); the other columns are "
               "Locust's CSV, which can miss the last few requests of users stopped at the end")
    no_answer = sum(ep.no_response for ep in locust.endpoints)
    if no_answer:
        out.append(f"\n- {no_answer} request(s) got no response at all (connection error)")
    for failure in locust.failures[:10]:
        out.append(f"- failure ×{failure.get('Occurrences')}: `{failure.get('Method')} {failure.get('Name')}`: "
                   f"{failure.get('Error', '')[:200]}")
    out += ["", f"#### Services (psutil over {sampler.seconds:.0f} s of load, process and children)", ""]
    srows = []
    for name, use in sampler.usage.items():
        cpu_pct = 100 * use.cpu_seconds / sampler.seconds if sampler.seconds else 0.0
        levels = ctx.log_levels.get(name)
        srows.append([
            f"`{name}`", _mb(use.rss_first), _mb(use.rss_peak), _mb(use.rss_last),
            f"{use.cpu_seconds:.1f}", f"{cpu_pct:.0f} %", f"{levels['warning']} / {levels['error']}" if levels else "-",
        ])
    out += _table(["process", "RSS before", "RSS peak", "RSS end", "CPU s", "CPU (of one core)",
                   "log warnings / errors"], srows)
    out += ["", "#### Jobs (checked through the API after the load)", ""]
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(jobs.runs_by_status.items())) or "none"
    out += _table(["what", "count"], [
        ["exports started", str(jobs.exports_started)],
        ["… done and downloadable", str(jobs.exports_done - jobs.exports_undownloadable)],
        ["… failed with a reason", str(jobs.exports_failed)],
        ["… failed without a reason", str(jobs.exports_failed_silently)],
        ["… never finished", str(jobs.exports_unfinished)],
        ["… done but not downloadable", str(jobs.exports_undownloadable)],
        ["… downloaded by the users during the load", str(jobs.exports_downloaded_in_load)],
        ["uploads sent", str(jobs.uploads_sent)],
        ["… accepted (202)", str(jobs.uploads_accepted)],
        ["… catalogued as runs", statuses],
        ["… lost", str(jobs.uploads_lost)],
        ["… refused", str(jobs.uploads_refused)],
        ["… without an answer (of them without a run)", f"{jobs.uploads_unanswered} ({jobs.uploads_unanswered_lost})"],
        ["edits accepted (runs)", f"{jobs.edits_accepted} ({jobs.runs_edited})"],
        ["… runs showing none of their edits", str(jobs.edits_lost)],
    ])
    reasons = sorted(set(jobs.failed_reasons))
    if reasons:
        out += ["", "Export failures (reasons):"] + [f"- {r}" for r in reasons[:10]]
    if jobs.problems:
        out += ["", "Problems:"] + [f"- {p}" for p in jobs.problems[:30]]
    verdict = verdict_line(locust, jobs)
    out += ["", f"**{verdict}**", ""]
    return "\n".join(out)


def verdict_line(locust: LocustResult, jobs: JobCheck) -> str:
    if locust.server_errors == 0 and jobs.lost == 0:
        return "0 responses ≥ 500, no job lost"
    return f"{locust.server_errors} response(s) ≥ 500, {jobs.lost} job(s) lost or unfinished"


def as_json(locust: LocustResult, sampler: Sampler, jobs: JobCheck) -> dict[str, Any]:
    return {
        "endpoints": [ep.__dict__ for ep in locust.endpoints],
        "total": locust.total.__dict__ if locust.total else None,
        "services": {name: {**use.__dict__, "cpu_seconds": use.cpu_seconds} for name, use in sampler.usage.items()},
        "seconds": sampler.seconds,
        "jobs": jobs.__dict__,
    }
