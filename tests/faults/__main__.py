"""`python -m tests.faults [--quick]`: run the campaign, print the matrix, exit 1 on any problem."""

from __future__ import annotations

import argparse
import sys

from tests.faults.campaign import Campaign, Timing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="10 s outages and short recoveries (~5 min instead of ~12)")
    args = parser.parse_args(argv)
    report = Campaign(Timing.quick() if args.quick else Timing()).run()
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
