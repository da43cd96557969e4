"""The one entry point from a Recording to files: `export_recording`.

Used by `pitwall convert` and by the converter service. Writers are imported lazily so a
MAT v5 export never pays for h5py or pyarrow. The formats, layouts and interpolations are
the export spec's (`pitwall.common.exportformats`); `ExportParams.of` takes one from a spec.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pitwall.common.columns import Recording, Skipped
from pitwall.common.exportformats import FORMATS, SUFFIX, Interp, Layout
from pitwall.common.exportformats import ExportFormat as Format
from pitwall.export.layout import build_layout
from pitwall.export.matvalue import MatValue
from pitwall.export.meta import ExportInfo, Meta
from pitwall.export.resample import ResampleError, resample
from pitwall.export.signalinfo import Facts, describe, signal_map, states_struct

if TYPE_CHECKING:  # pydantic costs `pitwall convert` ~0.1 s of start-up, for nothing
    from pitwall.common.contracts.signalinfo import SignalInfo
    from pitwall.common.exportspec import ExportSpec

# The format an output path names (the CLI's default for --format): the inverse of the
# spec's SUFFIX, plus the single-file names a user may give.
SUFFIX_FORMAT: dict[str, Format] = {
    ".mat": "mat",
    ".csv": "csv",
    ".zip": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
Progress = Callable[[float], None]


class ExportError(ValueError):
    """A request that cannot be exported, with a one-line reason for the user."""


@dataclass(frozen=True, slots=True)
class ExportParams:
    format: Format | None = None  # None: from the output suffix
    layout: Layout = "struct"
    resample_hz: float | None = None
    interp: Interp = "hold"
    # The window and selection are applied by the reader; here they anchor the resample
    # grid and are recorded in meta.
    start_s: float | None = None
    end_s: float | None = None
    topics: str | None = None
    signals: tuple[str, ...] = ()
    # What each signal is (unit, description, states), by key `topic:path`: written into
    # the MAT signal_map and meta.states, Parquet field metadata and the CSV zip's signals.csv.
    signal_info: Mapping[str, SignalInfo] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: ExportSpec, start_s: float | None, end_s: float | None) -> ExportParams:
        """The parameters of one run's export asked for by `spec`, cut to the window."""
        return cls(
            format=spec.format,
            layout=spec.layout,
            resample_hz=spec.resample_hz,
            interp=spec.interp,
            start_s=start_s,
            end_s=end_s,
            topics=spec.topics,
            signals=tuple(spec.signals),
        )


def output_suffix(fmt: Format, resampled: bool) -> str:
    """The suffix to ask `export_recording` for one run's output in `fmt`: the export's
    (SUFFIX), except Parquet, which writes a folder of one file per topic ("") or, when
    resampled, one `.parquet` file (so its member in a zip says what it is)."""
    if fmt == "parquet":
        return ".parquet" if resampled else ""
    return SUFFIX[fmt]


@dataclass(slots=True)
class ExportResult:
    format: str  # what was written: mat (v5), mat73, csv or parquet
    files: list[Path]
    bytes: int
    warnings: list[str] = field(default_factory=list)
    topics: int = 0
    signals: int = 0  # signal columns written (a repeated field counts once)
    messages: int = 0  # messages of the selected topics, before any resampling
    duration_s: float = 0.0  # time span of those messages


def resolve_format(out: Path, fmt: str | None) -> Format:
    if fmt is not None:
        if fmt not in FORMATS:
            raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    found = SUFFIX_FORMAT.get(out.suffix.lower())
    if found is None:
        raise ExportError(
            f"cannot tell the format from {out.name!r}: name it .mat/.csv/.zip/.parquet "
            f"or pass --format {'|'.join(FORMATS)}"
        )
    return found


def check_params(params: ExportParams) -> None:
    if params.layout not in ("struct", "pairs"):
        raise ExportError(f"unknown layout {params.layout!r}: use struct or pairs")
    if params.interp not in ("hold", "linear"):
        raise ExportError(f"unknown interpolation {params.interp!r}: use hold or linear")
    hz = params.resample_hz
    if hz is not None and not (hz > 0 and math.isfinite(hz)):
        raise ExportError(f"--resample must be a positive rate in Hz, not {hz}")
    s, e = params.start_s, params.end_s
    if s is not None and e is not None and e <= s:
        raise ExportError(f"--end ({e}) must be after --start ({s})")


def check_output(out: Path, fmt: Format, params: ExportParams) -> None:
    """Refuse an output path before any work: its folder must exist (an export never
    makes folders: a typo in `-o` would otherwise leave a stray tree), and only Parquet
    per topic writes into a folder."""
    folder_output = fmt == "parquet" and params.resample_hz is None
    if out.is_dir() and not folder_output:
        raise ExportError(f"{out} is a folder: give the name of the file to write")
    parent = out.parent
    if not parent.is_dir():
        raise ExportError(f"{parent}: no such folder (create it first, or write elsewhere)")


def _span(rec: Recording) -> float:
    firsts = [int(tc.log_time_ns.min()) for tc in rec.topics.values() if tc.count]
    lasts = [int(tc.log_time_ns.max()) for tc in rec.topics.values() if tc.count]
    return (max(lasts) - min(firsts)) / 1e9 if firsts else 0.0


def _partial(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


@dataclass(slots=True)
class _Job:
    rec: Recording  # resampled already when asked
    out: Path
    params: ExportParams
    info: ExportInfo
    source_name: str
    source_sha256: str | None
    warnings: list[str]
    progress: Progress | None
    counts: dict[str, int]  # messages per topic before resampling
    facts: dict[str, Facts]  # what each signal is, by key

    def meta(self, topic_names: dict[str, str], extra: list[Skipped] | None = None) -> Meta:
        return Meta.build(
            self.rec,
            source_file=self.source_name,
            source_sha256=self.source_sha256,
            export=self.info,
            topic_names=topic_names,
            extra_skipped=extra,
            counts=self.counts,
            facts=self.facts,
        )


def _atomic(out: Path, write: Callable[[Path], object]) -> None:
    """Write through `<out>.partial` so a failed export never leaves a half file."""
    tmp = _partial(out)
    try:
        write(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _export_mat(job: _Job, fmt: Format) -> Format:
    built = build_layout(job.rec, job.params.layout)
    smap = signal_map(built.signal_map, job.facts)
    states = states_struct(built.signal_map, job.facts)

    def variables(written: Format) -> dict[str, MatValue]:
        job.info.format = written
        meta = job.meta(built.topic_names, built.skipped).to_mat()
        return {**built.variables, "signal_map": smap, "meta": {**meta, "states": states}}

    if fmt == "mat":
        from pitwall.export.mat5 import V5LimitError, write_mat5

        try:
            _atomic(job.out, lambda p: write_mat5(p, variables("mat"), progress=job.progress))
            return "mat"
        except V5LimitError as exc:
            job.warnings.append(
                f"MAT v5 cannot hold {', '.join(exc.names)} (2 GB per variable): "
                "wrote MAT v7.3 instead"
            )
    from pitwall.export.mat73 import write_mat73

    _atomic(job.out, lambda p: write_mat73(p, variables("mat73"), progress=job.progress))
    return "mat73"


def _export_table(job: _Job, fmt: Literal["csv", "parquet"]) -> list[Path]:
    from pitwall.export import tabular

    out = job.out
    if job.params.resample_hz is not None:
        meta = job.meta({}).to_json()
        member = f"{out.stem}.csv" if fmt == "csv" and out.suffix.lower() == ".zip" else None
        if fmt == "csv" and member is None:
            _note_lone_csv(job)
        _atomic(out, lambda p: tabular.write_wide(job.rec, p, fmt, meta, job.facts, zip_member=member))
        return [out]
    names = tabular.file_names(job.rec, fmt)
    meta = job.meta(names).to_json()
    if fmt == "parquet":
        folder = out.with_suffix("") if out.suffix.lower() in (".parquet", ".pq") else out
        return tabular.write_per_topic(job.rec, folder, fmt, meta, job.progress, job.facts)
    if out.suffix.lower() == ".csv" and len(job.rec.topics) == 1:
        # One topic fits the one CSV asked for (as a resampled wide table does).
        _note_lone_csv(job)
        _atomic(out, lambda p: tabular.write_topic_csv(job.rec, p))
        return [out]
    if out.suffix.lower() != ".zip":
        out = out.with_suffix(".zip")
        job.warnings.append(
            f"{len(job.rec.topics)} topics make one CSV each without --resample: "
            f"wrote the zip {out} instead of {job.out.name}"
        )
    _atomic(out, lambda p: tabular.write_per_topic(job.rec, p, fmt, meta, job.progress, job.facts))
    return [out]


def _note_lone_csv(job: _Job) -> None:
    """A lone CSV has only its data (no meta.json either): say so when catalogue info for
    the written signals is lost with it, as that is what the user asked to carry."""
    written = {f"{tc.topic}:{path}" for tc in job.rec.topics.values() for path in tc.signals}
    if any(key in written for key in job.params.signal_info):
        job.warnings.append(
            f"{job.out.name} is one CSV file: units, descriptions and state names go into "
            "signals.csv of a zip, so name the output .zip to keep them"
        )


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def export_recording(
    rec: Recording,
    out: Path,
    params: ExportParams,
    *,
    source_name: str,
    source_sha256: str | None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write `rec` to `out` as `params` say; raises ExportError on a request it cannot do."""
    out = Path(out)
    fmt = resolve_format(out, params.format)
    check_params(params)
    check_output(out, fmt, params)
    warnings: list[str] = []
    messages = sum(tc.count for tc in rec.topics.values())
    duration = _span(rec)
    work = rec
    if params.resample_hz is not None:
        try:
            work, notes = resample(
                rec, params.resample_hz, params.interp, params.start_s, params.end_s
            )
        except ResampleError as exc:
            raise ExportError(str(exc)) from exc
        warnings += notes
    info = ExportInfo(
        format=fmt,
        layout=params.layout if fmt in ("mat", "mat73") else None,
        resample_hz=params.resample_hz,
        interp=params.interp if params.resample_hz is not None else None,
        start_s=params.start_s,
        end_s=params.end_s,
        topics=params.topics,
        signals=list(params.signals),
    )
    counts = {t: tc.count for t, tc in rec.topics.items()}
    facts = describe(work, params.signal_info)
    job = _Job(work, out, params, info, source_name, source_sha256, warnings, progress, counts, facts)
    if fmt in ("mat", "mat73"):
        written: str = _export_mat(job, fmt)
        files = [out]
    else:
        written = fmt
        files = _export_table(job, fmt)  # type: ignore[arg-type]
    if progress is not None:
        progress(1.0)
    return ExportResult(
        format=written,
        files=files,
        bytes=_size(files),
        warnings=warnings,
        topics=len(work.topics),
        signals=sum(len(tc.signals) for tc in work.topics.values()),
        messages=messages,
        duration_s=duration,
    )
