"""Section 1: how fast `pitwall synth` writes sample recordings.

Generates the 1-minute and the 10-minute file afresh (timed, in-process `write_synth`)
into the input cache, where the other sections find them.
"""

from __future__ import annotations

from bench import inputs
from bench.context import Context
from bench.report import Section, mb, rate, secs


def run(ctx: Context, section: Section) -> None:
    table = section.table(
        "synth: write a sample recording (in-process `write_synth`)",
        ["file", "seconds", "messages", "messages/s", "MB/s", "size"],
    )
    for spec in (ctx.config.small, ctx.config.big):
        made = inputs.generate(spec)
        assert made.generate_seconds is not None
        s = made.generate_seconds
        table.add(
            spec.label, secs(s), f"{made.message_count:,}", rate(made.message_count / s),
            f"{made.size / 1e6 / s:.1f}", mb(made.size),
        )
        section.data[spec.label] = {
            "seconds": s, "messages": made.message_count, "bytes": made.size,
            "messages_per_s": made.message_count / s, "mb_per_s": made.size / 1e6 / s,
            "topics": len(made.message_counts),
        }
    table.notes.append(
        "deterministic per seed: the files are cached under bench/out/inputs and reused by "
        "the other sections (keyed by arguments and a hash of the generator's source)"
    )
