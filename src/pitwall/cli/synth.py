"""`pitwall synth`: write a realistic, deterministic sample recording."""

from __future__ import annotations

import time
from pathlib import Path

import typer


def synth(
    out: Path = typer.Argument(..., help="MCAP file to write", dir_okay=False, writable=True),
    minutes: float = typer.Option(1.0, "--minutes", "-m", min=0.01, help="length of the recording"),
    seed: int = typer.Option(0, "--seed", "-s", help="same seed and options, same bytes"),
    unchunked: bool = typer.Option(
        False, "--unchunked", help="unchunked and uncompressed, like the team's main logger"
    ),
    compression: str = typer.Option(
        "zstd", "--compression", "-c", help="chunk compression: zstd, lz4 or none"
    ),
    truncate: bool = typer.Option(
        False, "--truncate", help="cut the file mid-record, like a logger switched off"
    ),
    track_seed: int | None = typer.Option(
        None, "--track-seed", help="lay the track from this seed: runs of other seeds lap the same circuit"
    ),
    pace: float = typer.Option(
        1.0, "--pace", min=0.3, max=1.5, help="share of the reference grip and traction the driver uses"
    ),
    no_gps: bool = typer.Option(False, "--no-gps", help="the GPS never gets a fix (lat/lon stay 0)"),
    fault_at: float | None = typer.Option(
        None, "--fault-at", min=0, help="the BMS enters its FAULT state at this second, for 3 s"
    ),
) -> None:
    """Write a synthetic car recording: 100+ protobuf topics, a JSON topic, laps of a track.

    Beside it, the CAN description of its CAN-style topics (units, descriptions, state names),
    one per folder: it is the same for every recording."""
    # Imported here so other verbs do not pay for numpy and the schema catalog.
    from pitwall.synth import write_synth
    from pitwall.synth.can_description import write_can_description

    if compression not in ("zstd", "lz4", "none"):
        raise typer.BadParameter("choose zstd, lz4 or none", param_hint="--compression")
    started = time.perf_counter()
    summary = write_synth(
        out,
        minutes=minutes,
        seed=seed,
        chunked=not unchunked,
        compression=compression,
        truncate=truncate,
        track_seed=track_seed,
        pace=pace,
        gps=not no_gps,
        fault_at=fault_at,
    )
    can = write_can_description(out.parent)
    seconds = time.perf_counter() - started
    kind = "unchunked" if unchunked else f"chunked {summary.compression}"
    cut = f", cut at byte {summary.cut_offset}" if summary.truncated else ""
    typer.echo(
        f"{out}: {summary.message_count:,} messages on {len(summary.topics)} topics, "
        f"{summary.size_bytes / 1e6:.1f} MB ({kind}{cut}), "
        f"{summary.track.lap_count} laps of {summary.track.length_m:.0f} m, in {seconds:.1f} s; "
        f"CAN description: {can}"
    )
