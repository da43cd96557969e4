"""The converter service's work for one `conversion.requested`: thin over the core.

Reads each run from the signal store when ingest wrote one (only the needed columns),
else from the MCAP in S3 (ranged reads of the needed chunks when it is indexed), runs
the same export the CLI runs (`pitwall.export`), and stores the result under a key
derived from the request's spec and window, so an identical request is served from that
object.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from minio.error import S3Error

from pitwall.common import exportnames, signalstore
from pitwall.common.columns import Recording
from pitwall.common.events import ConversionRequested
from pitwall.common.exportformats import SUFFIX
from pitwall.common.exportspec import ExportSpec
from pitwall.common.logging import get_logger
from pitwall.common.selection import Selection, glob_matches, no_match
from pitwall.common.storage import (
    InvalidKey,
    ObjectStore,
    S3RangeSource,
    export_key,
    mcap_key,
    signals_prefix,
)

log = get_logger(__name__)

# Fields that change the output: the spec's and the window. Job id, requester, names and
# timestamps don't (nor run_event: its window is start_s/end_s). The catalogue's info and
# aliases do too, but join the key only when present, so a request without them keeps the
# key it always had (and its cached export).
_KEY_FIELDS = (*ExportSpec.model_fields, "start_s", "end_s")
EXPORT_FORMAT_VERSION = 1
# The SignalInfo fields an export writes (display names and origins are not written).
_WRITTEN_INFO = ("unit", "description", "states")


class ConversionError(Exception):
    """A failure the requester can act on (unknown run, not MCAP, nothing selected...)."""


def request_key(req: ConversionRequested) -> str:
    """The cache key of the request's output. sort_keys: the key does not depend on the
    order of the spec's fields (caches made before the spec existed still hit)."""
    body = {k: getattr(req, k) for k in _KEY_FIELDS} | {"v": EXPORT_FORMAT_VERSION}
    written = _written_info(req)
    if written:
        body["catalogue"] = written
    if req.aliases:
        body["aliases"] = req.aliases
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:32]


def _written_info(req: ConversionRequested) -> dict[str, dict[str, dict[str, Any]]]:
    """The part of the request's catalogue the export writes, for its runs only."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for run_id in req.runs:
        per_key = {}
        for key, info in (req.catalogue.get(run_id) or {}).items():
            kept = {f: info[f] for f in _WRITTEN_INFO if info.get(f)}  # type: ignore[literal-required]
            if kept:
                per_key[key] = kept
        if per_key:
            out[run_id] = per_key
    return out


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


_GLOB_MAGIC = re.compile(r"([*?\[])")


def _literal(key: str) -> str:
    """A glob matching exactly `key` (fnmatch reads `[*]` as a literal `*`)."""
    return _GLOB_MAGIC.sub(r"[\1]", key)


def alias_globs(req: ConversionRequested) -> dict[str, list[str]]:
    """Each requested glob -> literal globs of the other names (aliases) of the keys it
    matches: a signal renamed between CAN description versions is found in a run under its
    old name too, and keeps that name in the run's output."""
    out: dict[str, list[str]] = {}
    for key, others in req.aliases.items():
        topic, sep, path = key.partition(":")
        if not sep:
            continue
        for glob in req.signals:
            if glob_matches(glob, topic, path):
                out.setdefault(glob, []).extend(_literal(o) for o in others if o != key)
    return out


def selection_of(req: ConversionRequested) -> Selection:
    extra = [g for globs in alias_globs(req).values() for g in globs if g not in req.signals]
    return Selection(
        topics=req.topics,
        signals=tuple(dict.fromkeys((*req.signals, *extra))),
        start_s=req.start_s,
        end_s=req.end_s,
    )


def unmatched_globs(
    req: ConversionRequested, selection: Selection, signals: Iterable[tuple[str, str]]
) -> set[str]:
    """The requested globs that select nothing among `signals`, neither by themselves nor
    through an alias of a key they name."""
    left = set(selection.unmatched(signals))
    aliases = alias_globs(req)
    return {g for g in req.signals if g in left and all(a in left for a in aliases.get(g, ()))}


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


def _no_match(req: ConversionRequested, missing: set[str], where: str) -> str:
    # In the order the request lists them.
    return no_match([g for g in req.signals if g in missing], where)


def convert(
    req: ConversionRequested, store: ObjectStore, progress: Callable[[float, str], None]
) -> Result:
    from pitwall.export.bundle import bundle
    from pitwall.export.recording import ExportParams, export_recording, output_suffix

    settings = store.settings
    key = result_object_key(req)
    if store.exists(settings.bucket_exports, key):
        return Result(key, store.size(settings.bucket_exports, key), True, {})
    selection = selection_of(req)
    params = ExportParams.of(req, req.start_s, req.end_s)
    tmp_root = settings.data_dir / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="export-", dir=tmp_root))
    runs_done: list[dict[str, object]] = []
    try:
        outputs: list[Path] = []
        n = len(req.runs)
        # Globs no run has matched yet; query_api refuses them up front, this says the
        # same for a request made by hand.
        missing = set(req.signals)
        run_suffix = output_suffix(req.format, resampled=req.resample_hz is not None)
        # Apart from `final`, which may be a zip of the same name as a run's file.
        runs_dir = work / "runs"
        runs_dir.mkdir()
        for i, (run_id, stem) in enumerate(zip(req.runs, _run_stems(req), strict=True)):
            base = i / n
            progress(base, f"reading run {i + 1}/{n}")
            rec = load_run(store, run_id, selection)
            source = req.filenames.get(run_id) or run_id[:12]
            pairs = [(tc.topic, p) for tc in rec.topics.values() for p in tc.signals]
            missing &= unmatched_globs(req, selection, pairs)
            if n == 1 and missing:
                raise ConversionError(_no_match(req, missing, f"run {source}"))
            if not any(t.signals for t in rec.topics.values()):
                raise ConversionError(f"the selection matches no signal in {source}")
            progress(base + 0.6 / n, f"writing run {i + 1}/{n}")
            out = runs_dir / f"{stem}{run_suffix}"
            result = export_recording(
                rec,
                out,
                replace(params, signal_info=req.catalogue.get(run_id, {})),
                source_name=req.filenames.get(run_id, run_id),
                source_sha256=run_id,
            )
            outputs.extend(Path(p) for p in result.files)
            runs_done.append(
                {"run_id": run_id, "messages": rec.message_count, "topics": len(rec.topics)}
            )
        if missing:
            raise ConversionError(_no_match(req, missing, f"the {n} runs"))
        final = work / PurePosixPath(key).name
        bundle(outputs, final, runs_dir, single_run=n == 1)
        progress(0.95, "uploading")
        size = store.put_file(settings.bucket_exports, key, final)
        return Result(key, size, False, {"runs": runs_done})
    finally:
        shutil.rmtree(work, ignore_errors=True)
