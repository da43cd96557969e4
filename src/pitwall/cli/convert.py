"""`pitwall convert INPUT.mcap -o OUTPUT`: one MCAP to MAT (v5 / v7.3), CSV or Parquet.

Any failure is one line on stderr and a non-zero exit, never a traceback: 2 when the
request is wrong (options, a missing input or output folder, a selection or window that
selects nothing), 1 when the file cannot be converted (not MCAP, unreadable, out of
memory). Heavy modules (the reader's compiled code, h5py, pyarrow) are imported only once
they are needed, for the format in use.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import typer

from pitwall.cli import prehash

if TYPE_CHECKING:
    from pitwall.common.exportformats import Interp, Layout

def _fail(message: str, code: int = 1) -> NoReturn:
    prehash.stop()  # exiting must not wait for a hash nobody needs
    typer.echo(f"pitwall convert: error: {message}", err=True)
    raise typer.Exit(code)


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


Stage = Callable[..., None]


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[str, float, float], Stage]]:
    """Yields `stage(name, lo, hi)` -> a callback mapping that stage's own progress (a
    fraction, or done/total) onto [lo, hi] of one bar. No bar when not on a terminal."""
    if not enabled:
        yield lambda name, lo, hi: lambda *a, **k: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<8}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=1.0)

        def stage(name: str, lo: float, hi: float) -> Stage:
            def update(*args: Any, **_: Any) -> None:
                # fraction, or (done, total): whichever the caller reports
                nums = [float(a) for a in args if isinstance(a, (int, float))]
                if not nums:
                    return
                frac = nums[0] / nums[1] if len(nums) > 1 and nums[1] else nums[0]
                bar.update(
                    task, description=name, completed=lo + (hi - lo) * min(max(frac, 0.0), 1.0)
                )

            bar.update(task, description=name, completed=lo)
            return update

        yield stage


def convert(
    input: Path = typer.Argument(..., help="MCAP file to convert", show_default=False),
    output: Path = typer.Option(
        ..., "-o", "--output", help="output file (folder for per-topic Parquet)", show_default=False
    ),
    format: str | None = typer.Option(
        None, "--format", help="mat | mat73 | csv | parquet (default: from the output suffix)"
    ),
    topics: str | None = typer.Option(None, "--topics", help="regular expression over topic names"),
    signals: str | None = typer.Option(
        None, "--signals", help="comma-separated globs over topic:field.path"
    ),
    start: float | None = typer.Option(
        None, "--start", help="window start, seconds from the first message"
    ),
    end: float | None = typer.Option(
        None, "--end", help="window end, seconds from the first message"
    ),
    resample: float | None = typer.Option(
        None, "--resample", help="put every signal on one grid of HZ"
    ),
    interp: str = typer.Option("hold", "--interp", help="hold | linear (with --resample)"),
    layout: str = typer.Option("struct", "--layout", help="struct | pairs (MAT only)"),
    can: Path | None = typer.Option(
        None,
        "--can",
        help="CAN description (.sym, .dbc, .kcd, .arxml): units, descriptions and state names into the export",
        show_default=False,
    ),
) -> None:
    """Convert an MCAP recording to MAT, CSV or Parquet in one pass over the file."""
    began = time.perf_counter()
    from pitwall.common.selection import Selection
    from pitwall.export.recording import (
        ExportError,
        ExportParams,
        check_output,
        check_params,
        resolve_format,
    )

    try:
        fmt = resolve_format(output, format)
        globs = Selection.parse_signals(signals)
        params = ExportParams(
            format=fmt,
            # Any other text is refused by check_params, with this command's message.
            layout=cast("Layout", layout),
            resample_hz=resample,
            interp=cast("Interp", interp),
            start_s=start,
            end_s=end,
            topics=topics,
            signals=globs,
        )
        check_params(params)
        selection = Selection(topics=topics, signals=globs, start_s=start, end_s=end)
    except (ExportError, ValueError) as exc:
        _fail(str(exc), 2)
    if not input.is_file():
        _fail(f"{input}: no such file" if not input.exists() else f"{input}: not a file", 2)
    try:
        check_output(output, fmt, params)
    except ExportError as exc:
        _fail(str(exc), 2)
    source = _load_can(can) if can is not None else None

    try:
        _run(input, output, params, selection, began, source)
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except MemoryError:
        _fail("out of memory: narrow the selection (--topics, --signals, --start/--end)")
    except Exception as exc:  # the promise is one line, whatever went wrong
        _fail(str(exc) or type(exc).__name__)


def _load_can(path: Path) -> Any:
    """The CAN description of `--can`, read before the MCAP: a wrong file is a wrong
    request (exit 2), said in one line, before any work."""
    from pitwall.common.catalogue import CatalogueError, load_can_source

    try:
        data = path.read_bytes()
    except OSError as exc:
        _fail(f"--can {path}: {exc.strerror or exc}", 2)
    try:
        return load_can_source(data, path.name)
    except CatalogueError as exc:
        _fail(f"--can {exc}", 2)


def _signal_info(rec: Any, source: Any) -> dict[str, Any]:
    """What `source` says of each signal of `rec`, chosen as the server chooses it for a
    run (`Catalogue.for_run`: the matching rule on topics, schema names and field paths)."""
    from datetime import UTC, datetime

    from pitwall.common.catalogue import Catalogue

    start = None if rec.origin_ns is None else datetime.fromtimestamp(rec.origin_ns / 1e9, tz=UTC)
    topics = {tc.topic: tc.schema_name for tc in rec.topics.values()}
    keys = [f"{tc.topic}:{path}" for tc in rec.topics.values() for path in tc.signals]
    return Catalogue(sources=(source,)).for_run(start, topics, keys)


def _run(input: Path, output: Path, params: Any, selection: Any, began: float, source: Any = None) -> None:
    with _progress_bar(sys.stderr.isatty()) as stage:
        # Usually started by `main` before the imports; hashlib releases the GIL, so it
        # overlaps the decoding either way.
        digest = prehash.digest(input)
        try:
            result = _read_and_export(input, output, params, selection, digest, stage, source)
        finally:
            prehash.stop()  # a failed read must not wait for the hash of a large file
    from pitwall.common.exportformats import LABEL

    for warning in result.warnings:
        typer.echo(f"pitwall convert: warning: {warning}", err=True)
    where = str(result.files[0].parent if len(result.files) > 1 else result.files[0])
    typer.echo(
        f"{where}: {LABEL.get(result.format, result.format)}, {_size(result.bytes)} - "
        f"{result.messages:,} messages, {result.signals:,} signals, "
        f"{result.duration_s:.1f} s of data, in {time.perf_counter() - began:.2f} s"
    )


def _read_and_export(
    input: Path,
    output: Path,
    params: Any,
    selection: Any,
    digest: Future[str],
    stage: Callable[[str, float, float], Stage],
    source: Any = None,
) -> Any:
    from pitwall.export.recording import ExportError, export_recording

    try:
        from pitwall.common.mcapread import McapReadError, read_recording
    except ImportError as exc:
        _fail(f"the MCAP reader is not available: {exc}")
    try:
        rec = read_recording(input, selection, progress=stage("reading", 0.0, 0.7))
    except McapReadError as exc:
        _fail(f"{input.name}: {exc}")
    _check_selected(input, rec, selection)
    if source is not None:
        from dataclasses import replace

        params = replace(params, signal_info=_signal_info(rec, source))
    try:
        return export_recording(
            rec,
            output,
            params,
            source_name=input.name,
            source_sha256=digest.result(),
            progress=stage("writing", 0.7, 1.0),
        )
    except ExportError as exc:
        _fail(str(exc), 2)


def _check_selected(input: Path, rec: Any, selection: Any) -> None:
    """Refuse (exit 2) a selection or window that selects nothing, naming the part: an
    empty file would only surface the typo later, in MATLAB."""
    from pitwall.common.selection import no_match

    listed = f"`pitwall info {input} --signals` lists them"
    missing = selection.unmatched((tc.topic, p) for tc in rec.topics.values() for p in tc.signals)
    if missing:
        _fail(f"{no_match(missing, input.name)} ({listed})", 2)
    if not any(tc.signals for tc in rec.topics.values()):
        typer.echo("pitwall convert: warning: the file holds no readable signal", err=True)
        return
    if selection.has_window and not any(tc.count for tc in rec.topics.values()):
        _fail(_empty_window(input, selection), 2)


def _empty_window(input: Path, selection: Any) -> str:
    from pitwall.common.mcapread import scan_summary

    info = scan_summary(input)
    length = (info.end_ns - info.start_ns) / 1e9 if info.start_ns is not None and info.end_ns is not None else 0.0
    if selection.start_s is not None and selection.start_s > length:
        return f"--start {selection.start_s:g} is past the end of {input.name} ({length:.1f} s long)"
    lo = 0.0 if selection.start_s is None else selection.start_s
    hi = length if selection.end_s is None else selection.end_s
    return f"no message of the selection between {lo:g} s and {hi:g} s of {input.name} ({length:.1f} s long)"
