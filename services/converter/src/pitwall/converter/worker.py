"""The converter service's work for one `conversion.requested`: thin over the core.

Reads each run from the signal store when ingest wrote one (only the needed columns),
else from the MCAP in S3 (ranged reads of the needed chunks when it is indexed), runs
the same export the CLI runs, and stores the result under a key derived from the
request, so an identical request is served from that object.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from minio.error import S3Error

from pitwall.common import exportnames, signalstore
from pitwall.common.columns import Recording
from pitwall.common.events import ConversionRequested
from pitwall.common.logging import get_logger
from pitwall.common.selection import Selection, no_match
from pitwall.common.storage import (
    InvalidKey,
    ObjectStore,
    S3RangeSource,
    export_key,
    mcap_key,
    signals_prefix,
)
from pitwall.converter.tabular import zip_entry

log = get_logger(__name__)

SUFFIX = {"mat": ".mat", "mat73": ".mat", "csv": ".zip", "parquet": ".zip"}
# What export_recording is asked to write per run (Parquet per topic: a folder, zipped later;
# resampled: one .parquet file, so its member in the zip says what it is).
_RUN_OUTPUT_SUFFIX = {"mat": ".mat", "mat73": ".mat", "csv": ".zip", "parquet": ""}
_RESAMPLED_OUTPUT_SUFFIX = {**_RUN_OUTPUT_SUFFIX, "parquet": ".parquet"}
# Fields that change the output; job id, requester and timestamps don't.
_KEY_FIELDS = (
    "runs",
    "topics",
    "signals",
    "start_s",
    "end_s",
    "resample_hz",
    "interp",
    "format",
    "layout",
)
EXPORT_FORMAT_VERSION = 1


class ConversionError(Exception):
    """A failure the requester can act on (unknown run, not MCAP, nothing selected...)."""


def request_key(req: ConversionRequested) -> str:
    body = {k: getattr(req, k) for k in _KEY_FIELDS} | {"v": EXPORT_FORMAT_VERSION}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:32]


def _stem(req: ConversionRequested, run_id: str) -> str:
    """The run's file name without suffix: query_api's name for it, else its file's."""
    named = exportnames.safe_part(req.run_names.get(run_id) or "")
    if named:
        return named[: exportnames.MAX_STEM]
    name = req.filenames.get(run_id) or run_id[:12]
    return exportnames.safe_part(PurePosixPath(name).stem)[: exportnames.MAX_STEM] or run_id[:12]


def _run_stems(req: ConversionRequested) -> list[str]:
    # Two runs can share a name (the same file name uploaded twice): not inside one zip.
    return exportnames.unique([_stem(req, r) for r in req.runs])


def result_object_key(req: ConversionRequested) -> str:
    single = len(req.runs) == 1
    named = exportnames.safe_part(req.download_name or "")
    name = named or (_stem(req, req.runs[0]) if single else f"pitwall-{len(req.runs)}-runs")
    suffix = SUFFIX[req.format] if single else ".zip"
    return export_key(request_key(req), f"{name[: exportnames.MAX_STEM]}{suffix}")


@dataclass(slots=True)
class Result:
    key: str
    size: int
    cached: bool
    summary: dict[str, object]


def selection_of(req: ConversionRequested) -> Selection:
    return Selection(
        topics=req.topics, signals=tuple(req.signals), start_s=req.start_s, end_s=req.end_s
    )


def load_run(store: ObjectStore, run_id: str, selection: Selection) -> Recording:
    settings = store.settings
    bucket = settings.bucket_signals
    try:
        prefix = signals_prefix(run_id)
    except InvalidKey as exc:  # a hand-made request: fail the job, never retry it
        raise ConversionError(str(exc)) from None
    try:
        return signalstore.read_recording(lambda k: store.get_bytes(bucket, k), prefix, selection)
    except S3Error as exc:  # no signal store for this run (yet): decode the MCAP
        if exc.code != "NoSuchKey":
            raise
    if not store.exists(settings.bucket_mcap, mcap_key(run_id)):
        raise ConversionError(
            f"run {run_id[:12]}… has no file in storage (deleted or never uploaded)"
        )
    from pitwall.common.mcapread import NotMcapError, read_recording

    source = S3RangeSource(store, settings.bucket_mcap, mcap_key(run_id))
    try:
        return read_recording(source, selection)
    except NotMcapError as exc:
        raise ConversionError(f"run {run_id[:12]}… is not a readable MCAP file: {exc}") from exc


def convert(
    req: ConversionRequested, store: ObjectStore, progress: Callable[[float, str], None]
) -> Result:
    from pitwall.converter.export import ExportParams, export_recording

    settings = store.settings
    key = result_object_key(req)
    if store.exists(settings.bucket_exports, key):
        return Result(key, store.size(settings.bucket_exports, key), True, {})
    selection = selection_of(req)
    params = ExportParams(
        format=req.format,
        layout=req.layout,
        resample_hz=req.resample_hz,
        interp=req.interp,
        start_s=req.start_s,
        end_s=req.end_s,
        topics=req.topics,
        signals=tuple(req.signals),
    )
    tmp_root = settings.data_dir / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="export-", dir=tmp_root))
    runs_done: list[dict[str, object]] = []
    try:
        outputs: list[Path] = []
        n = len(req.runs)
        # Globs no run has matched yet; query_api refuses them up front, this says the
        # same for a request made by hand.
        missing = set(selection.signals)
        suffixes = _RESAMPLED_OUTPUT_SUFFIX if req.resample_hz is not None else _RUN_OUTPUT_SUFFIX
        # Apart from `final`, which may be a zip of the same name as a run's file.
        (work / "runs").mkdir()
        for i, (run_id, stem) in enumerate(zip(req.runs, _run_stems(req), strict=True)):
            base = i / n
            progress(base, f"reading run {i + 1}/{n}")
            rec = load_run(store, run_id, selection)
            source = req.filenames.get(run_id) or run_id[:12]
            missing &= set(selection.unmatched((tc.topic, p) for tc in rec.topics.values() for p in tc.signals))
            if n == 1 and missing:
                raise ConversionError(no_match([g for g in selection.signals if g in missing], f"run {source}"))
            if not any(t.signals for t in rec.topics.values()):
                raise ConversionError(f"the selection matches no signal in {source}")
            progress(base + 0.6 / n, f"writing run {i + 1}/{n}")
            out = work / "runs" / f"{stem}{suffixes[req.format]}"
            result = export_recording(
                rec,
                out,
                params,
                source_name=req.filenames.get(run_id, run_id),
                source_sha256=run_id,
            )
            outputs.extend(Path(p) for p in result.files)
            runs_done.append({"run_id": run_id, "messages": rec.message_count, "topics": len(rec.topics)})
        if missing:
            raise ConversionError(no_match([g for g in selection.signals if g in missing], f"the {n} runs"))
        final = work / PurePosixPath(key).name
        if len(outputs) == 1 and outputs[0].is_file() and outputs[0].suffix == final.suffix:
            shutil.move(outputs[0], final)
        else:
            runs_dir = work / "runs"
            with zipfile.ZipFile(final, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in outputs:
                    files = [(f, f"{p.name}/{f.relative_to(p)}") for f in sorted(p.rglob("*")) if f.is_file()] \
                        if p.is_dir() else [(p, p.name if n == 1 else p.relative_to(runs_dir).as_posix())]
                    for f, name in files:
                        entry = zip_entry(name)
                        entry.file_size = f.stat().st_size  # lets zipfile pick zip64 for big members
                        with open(f, "rb") as src, zf.open(entry, "w") as dst:
                            shutil.copyfileobj(src, dst, 1 << 20)
        progress(0.95, "uploading")
        size = store.put_file(settings.bucket_exports, key, final)
        return Result(key, size, False, {"runs": runs_done})
    finally:
        shutil.rmtree(work, ignore_errors=True)
