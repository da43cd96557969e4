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

from pitwall.common import signalstore
from pitwall.common.columns import Recording
from pitwall.common.events import ConversionRequested
from pitwall.common.logging import get_logger
from pitwall.common.selection import Selection
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
# What export_recording is asked to write per run (Parquet per topic: a folder, zipped later).
_RUN_OUTPUT_SUFFIX = {"mat": ".mat", "mat73": ".mat", "csv": ".zip", "parquet": ""}
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
    name = req.filenames.get(run_id) or run_id[:12]
    stem = PurePosixPath(name).stem or run_id[:12]
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)


def result_object_key(req: ConversionRequested) -> str:
    name = _stem(req, req.runs[0]) if len(req.runs) == 1 else f"pitwall-{len(req.runs)}-runs"
    suffix = SUFFIX[req.format] if len(req.runs) == 1 else ".zip"
    # 200 characters keep the key inside S3's 1024 bytes whatever the script.
    return export_key(request_key(req), f"{name[:200]}{suffix}")


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
        for i, run_id in enumerate(req.runs):
            base = i / n
            progress(base, f"reading run {i + 1}/{n}")
            rec = load_run(store, run_id, selection)
            if not any(t.signals for t in rec.topics.values()):
                raise ConversionError("the selection matches no signal in " + _stem(req, run_id))
            progress(base + 0.6 / n, f"writing run {i + 1}/{n}")
            stem = _stem(req, run_id)
            out = work / f"{stem}{_RUN_OUTPUT_SUFFIX[req.format]}"
            result = export_recording(
                rec,
                out,
                params,
                source_name=req.filenames.get(run_id, run_id),
                source_sha256=run_id,
            )
            outputs.extend(Path(p) for p in result.files)
            runs_done.append({"run_id": run_id, "messages": rec.message_count, "topics": len(rec.topics)})
        final = work / PurePosixPath(key).name
        if len(outputs) == 1 and outputs[0].is_file() and outputs[0].suffix == final.suffix:
            shutil.move(outputs[0], final)
        else:
            with zipfile.ZipFile(final, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in outputs:
                    files = [(f, f"{p.name}/{f.relative_to(p)}") for f in sorted(p.rglob("*")) if f.is_file()] \
                        if p.is_dir() else [(p, p.name)]
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
