"""`make load`: 20 people on the API while ingest digests uploads and two converters work.

    .venv/bin/python bench/load/run.py [--users 20] [--run-time 120] [--converters 2]
        [--seed-runs 8] [--upload-every 4] [--backend auto|local|docker]

Real servers (as the tests start them), query_api, ingest and the converters each as
their own `pitwall service` process, runs seeded through the upload route, Locust
headless against query_api on loopback. Prints the tables and writes bench/out/load.md
(raw: bench/out/load/). Exit 1 on any response >= 500 or any job lost or unfinished.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (`python bench/load/run.py`): make `bench` importable as a package.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.inputs import OUT
from bench.load import report, seeding, synthfiles
from bench.load.checks import check_jobs
from bench.load.locustrun import Plan, run_locust
from bench.load.sampler import Sampler, listening_pid


def say(text: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {text}", flush=True)


def server_ports(stack: Any) -> dict[str, int]:
    """The servers this run started itself (the machine's RabbitMQ serves others too)."""
    ports = getattr(stack.servers, "ports", {}) or {}
    found = {}
    if ports.get("mongo"):
        found["server: MongoDB (SecantusDB)"] = int(ports["mongo"])
    if ports.get("s3") is not None:
        found["server: S3 (SeaweedFS)"] = int(ports["s3"].s3)
    return found if stack.backend == "local" else {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=20, help="API users (viewers : editors 3 : 1); one uploader on top")
    ap.add_argument("--spawn-rate", type=float, default=5.0, help="users started per second")
    ap.add_argument("--run-time", type=int, default=120, help="seconds of load")
    ap.add_argument("--converters", type=int, default=2)
    ap.add_argument("--seed-runs", type=int, default=8, help="runs uploaded before the load")
    ap.add_argument("--seed-minutes", type=float, default=1.5, help="length of each seeded run")
    ap.add_argument("--upload-every", type=float, default=4.0, help="seconds between uploads during the load")
    ap.add_argument("--upload-minutes", type=float, default=0.5, help="length of each uploaded file")
    ap.add_argument("--drain", type=float, default=180.0, help="seconds the checks wait for jobs still in flight")
    ap.add_argument("--backend", default=os.environ.get("PITWALL_TEST_BACKEND", "local"))
    ap.add_argument("--out", type=Path, default=OUT / "load.md")
    args = ap.parse_args(argv)
    if args.users < 1 or args.run_time < 5 or args.converters < 1 or args.seed_runs < 1:
        ap.error("need at least 1 user, 5 s of load, 1 converter and 1 seeded run")
    plan = Plan(users=args.users, spawn_rate=args.spawn_rate, run_time_s=args.run_time,
                upload_every_s=args.upload_every)
    command = ("make load" if argv is None and len(sys.argv) == 1
               else "python bench/load/run.py " + shlex.join(sys.argv[1:] if argv is None else argv))
    work = OUT / "load"

    began = time.monotonic()
    say(f"synth files: {args.seed_runs} to seed, a stream for {args.run_time} s (cached in bench/out/inputs)")
    seeds = synthfiles.seed_files(args.seed_runs, args.seed_minutes)
    stream = synthfiles.stream_files(math.ceil(args.run_time / args.upload_every) + 2, args.upload_minutes)

    from bench.stack import Stack

    say(f"servers ({args.backend})")
    stack = Stack.start(args.backend, work / "logs")
    try:
        for note in stack.notes:
            say(note)
        api = stack.service("query_api")
        procs = {"query_api": api, "ingest": stack.service("ingest")}
        for n in range(1, args.converters + 1):
            procs[f"converter-{n}"] = stack.service("converter", replica=n)
        tokens = {role: stack.token(role) for role in ("viewer", "editor", "uploader")}
        say(f"seeding {len(seeds)} runs of {args.seed_minutes:g} min through POST /api/v1/uploads")
        runs = seeding.seed(api.base_url, tokens["uploader"], seeds)
        laps = sum(seeding.lap_counts(api.base_url, tokens["viewer"], list(runs)).values())
        sampler = Sampler({name: p.pid for name, p in procs.items() if p.pid is not None})
        for label, port in server_ports(stack).items():
            pid = listening_pid(port)
            if pid is not None:
                sampler.add(label, pid)
        load_before = os.getloadavg()
        started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        say(f"Locust: {plan.users} users + 1 uploader for {plan.run_time_s} s against {api.base_url}")
        sampler.start()
        try:
            result = run_locust(api.base_url, tokens, runs, stream, plan, work,
                                on_start=lambda pid: sampler.add("locust (the users)", pid))
        finally:
            sampler.stop()
        load_after = os.getloadavg()
        say(f"Locust exited ({result.returncode}); checking every job it started (up to {args.drain:.0f} s)")
        jobs = check_jobs(api.base_url, tokens, result.journal, drain_s=args.drain)
        for name, proc in procs.items():
            if not proc.alive:
                jobs.problems.append(f"{name} exited during the load (code {proc.returncode}, log {proc.log_path})")
        levels = {name: report.log_levels(proc.log()) for name, proc in procs.items()}
        ctx = report.Context(plan, args.converters, len(runs), stack.backend, load_before, load_after, started_at,
                             command, laps, levels)
        text = report.render(ctx, result, sampler, jobs)
    finally:
        stack.stop()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    (work / "results.json").write_text(json.dumps(report.as_json(result, sampler, jobs), indent=1, default=str))
    say(f"written {args.out} (raw: {work}); {time.monotonic() - began:.0f} s in all")
    alive_problems = [p for p in jobs.problems if "exited during the load" in p]
    return 0 if result.server_errors == 0 and jobs.lost == 0 and not alive_problems and result.total else 1


if __name__ == "__main__":
    sys.exit(main())
