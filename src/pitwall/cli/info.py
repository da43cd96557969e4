"""`pitwall info INPUT.mcap`: what a recording holds, before converting it.

Topics with message counts and rates, the time span, whether the file is indexed or was
cut off, and with `--signals` every signal under the exact name `pitwall convert
--signals` takes (`VNData:vn_gps.lat`) and the MATLAB type it becomes. Reads the summary
when it is consistent (milliseconds), else scans the file without decoding a message.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer

# What a MAT file holds for each kind (struct layout); `pitwall convert` maps them so.
_MATLAB = {
    "double": "double", "single": "single", "int32": "int32", "uint32": "uint32",
    "int64": "int64", "uint64": "uint64", "logical": "logical", "enum": "int32 (enum code)",
    "string": "cell of char",
}  # fmt: skip


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"pitwall info: error: {message}", err=True)
    raise typer.Exit(code)


def info(
    input: Path = typer.Argument(..., help="MCAP file to describe", show_default=False),
    signals: bool = typer.Option(False, "--signals", "-s", help="list every signal with its type"),
    topics: str | None = typer.Option(None, "--topics", help="regular expression over topic names"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Describe an MCAP recording: topics, counts, rates, time span, damage, signals."""
    import re

    from pitwall.common.mcapread import McapReadError, scan_summary

    if not input.is_file():
        _fail(f"{input}: no such file" if not input.exists() else f"{input}: not a file", 2)
    try:
        wanted = re.compile(topics) if topics is not None else None
    except re.error as exc:
        _fail(f"invalid topic regex {topics!r}: {exc}", 2)
    try:
        summary = scan_summary(input, signals=signals or as_json)
    except McapReadError as exc:
        _fail(f"{input.name}: {exc}")
    except MemoryError:
        _fail(f"{input.name}: out of memory")
    except Exception as exc:  # the promise is one line, whatever went wrong
        _fail(f"{input.name}: {exc or type(exc).__name__}")
    channels = [c for c in summary.channels if wanted is None or wanted.search(c.topic)]
    if as_json:
        doc = asdict(summary) | {"channels": [asdict(c) for c in channels], "file": str(input)}
        typer.echo(json.dumps(doc, indent=1))
        return
    for line in _describe(input, summary, channels, signals):
        typer.echo(line)


def _describe(path: Path, s: Any, channels: list[Any], signals: bool) -> list[str]:
    span = (s.end_ns - s.start_ns) / 1e9 if s.start_ns is not None else 0.0
    when = (
        datetime.fromtimestamp(s.start_ns / 1e9, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        if s.start_ns is not None
        else "-"
    )
    how = "indexed" if s.from_summary else "no usable index: scanned"
    lines = [
        f"{path.name}: {s.size / 1e6:.1f} MB, {span:.1f} s from {when}, "
        f"{s.message_count:,} messages on {len(s.channels)} channels, {s.chunk_count} chunks ({how})"
    ]
    if s.truncated and s.lost_tail_bytes:
        lines.append(f"  cut off: the last {s.lost_tail_bytes:,} bytes are unreadable; "
                     "every message before them converts")
    elif s.truncated:
        lines.append("  cut off after its last complete record (no footer): every message converts")
    for skip in s.skipped:
        if skip.what not in ("tail", "footer"):
            count = f" (x{skip.count:,})" if skip.count > 1 else ""
            lines.append(f"  skipped {skip.what}: {skip.reason}{count}")
    width = max([len(c.topic) for c in channels] + [5])
    swidth = max([len(c.schema_name) for c in channels] + [6])
    lines.append(f"{'topic':<{width}}  {'schema':<{swidth}}  {'messages':>10}  {'rate':>9}")
    for c in sorted(channels, key=lambda c: c.topic):
        # Per-topic first/last times are not in the summary: the file's span stands in.
        rate = f"{c.message_count / span:.1f} Hz" if span > 0 and c.message_count > 1 else "-"
        lines.append(f"{c.topic:<{width}}  {c.schema_name:<{swidth}}  {c.message_count:>10,}  {rate:>9}")
        if not signals:
            continue
        if c.problem:
            lines.append(f"    not exported: {c.problem}")
        for sig in c.signals:
            kind = "N x K double" if sig.repeated else _MATLAB.get(sig.kind, sig.kind)
            lines.append(f"    {c.topic}:{sig.path}  {kind}")
        for where, why in c.not_exported:
            lines.append(f"    {c.topic}:{where}  not exported: {why}")
    return lines
