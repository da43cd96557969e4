"""`make bench`: pitwall's throughput beside the plain approaches, measured in one run.

    .venv/bin/python bench/run.py [--quick] [--only synth,convert,ingest,api] [--backend auto|local|docker]

Sections (each prints its tables as it finishes):
  synth    messages/s and MB/s of `pitwall synth` (1- and 10-minute files)
  convert  MCAP -> MAT v5: plain one-pass, the team's per-topic route, `pitwall convert`
  ingest   the ingest service end to end, the signal store against decoding the MCAP
  api      query_api p50/p99: listing many runs, plot series of a 10-minute run
  station  base station: car (sshd, SFTP) to confirmed run beside scp + API upload; its RSS
  lists    `GET /runs` first/deep pages at 1k/10k/100k runs (run_summaries) beside the old route
  ops      idle RSS of the five services (the set under 600 MB), converter jobs/s with 1 and 2 processes
Results: bench/out/results.json and bench/out/results.md (tables to paste in the README);
a quick or partial run writes results-quick*.* / results-<sections>.* instead.
Inputs are cached in bench/out/inputs. `--quick` uses smaller inputs (a smoke test of the
bench, not numbers to publish).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (`python bench/run.py`): make `bench` importable as a package.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.context import Config, Context
from bench.report import Section, write

SECTIONS = ("synth", "convert", "ingest", "api", "catalogue", "compare", "station", "backup", "ops", "lists")


def _section(name: str) -> Callable[[Context, Section], None]:
    import importlib

    module = importlib.import_module(f"bench.{name}")
    return module.run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats")
    ap.add_argument(
        "--only", action="append", default=[], metavar="NAME",
        help=f"run only these sections (repeat or comma-separate): {', '.join(SECTIONS)}",
    )
    ap.add_argument(
        "--backend", default=os.environ.get("PITWALL_BENCH_BACKEND", "auto"),
        choices=("auto", "local", "docker"), help="servers for ingest/api (auto: docker when an engine answers)",
    )
    ap.add_argument("--runs", type=int, default=None,
                    help="api: run documents to insert (default 5,000 local, 100,000 docker)")
    ap.add_argument("--list-tiers", default=None, metavar="N,N",
                    help="lists: the run counts to measure (default 1000,10000,100000)")
    args = ap.parse_args(argv)
    try:
        args.list_tiers = tuple(int(n) for n in args.list_tiers.split(",")) if args.list_tiers else None
    except ValueError:
        ap.error("--list-tiers takes run counts separated by commas, e.g. 1000,10000")
    only = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    args.sections = [s for s in SECTIONS if not only or s in only]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ctx = Context(Config(quick=args.quick, backend=args.backend, runs=args.runs, list_tiers=args.list_tiers))
    sections: list[Section] = []
    began = time.perf_counter()
    try:
        for name in args.sections:
            section = Section(name)
            sections.append(section)
            print(f"\n== {name} ...", flush=True)
            start = time.perf_counter()
            load0 = os.getloadavg()[0]
            try:
                _section(name)(ctx, section)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                # One broken section must not hide the others' numbers.
                section.error = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
            section.seconds = time.perf_counter() - start
            section.load = (load0, os.getloadavg()[0])
            print(section.markdown(), flush=True)
            print(f"({name}: {section.seconds:.0f} s)", flush=True)
    finally:
        ctx.close()
        if sections:
            # Only a full run writes results.*: a quick or partial run never overwrites it.
            stem = "results" + ("-quick" if args.quick else "")
            if args.sections != list(SECTIONS):
                stem += "-" + "-".join(args.sections)
            meta = {"quick": args.quick, "sections": args.sections, "backend": args.backend}
            json_path, md_path = write(ctx.out, sections, meta, stem)
            print(f"\nwrote {json_path} and {md_path} in {time.perf_counter() - began:.0f} s", flush=True)
    return 1 if any(s.error for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
