"""Values for plots, read from the signal store (the run's decoded columns as Parquet).

Only the topics and columns asked for are fetched, by ranged reads of the Parquet
objects (footer, then the column chunks), so plotting 5 signals of a 500-topic run
costs a few small requests, not a decode of the MCAP.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from threading import Lock
from typing import Any

import numpy as np
from minio.error import S3Error

from pitwall.common import signalstore
from pitwall.common.columns import Recording, Signal
from pitwall.common.selection import Selection
from pitwall.common.storage import InvalidKey, ObjectStore, S3RangeSource, signals_prefix
from pitwall.query_api.decimate import minmax
from pitwall.query_api.queries import FilterError

_INDEX = re.compile(r"^(?P<path>.+)\[(?P<index>\d{1,6})\]$")
_GLOB_SPECIAL = re.compile(r"([*?\[])")


class NoSignalStore(LookupError):
    """The run has no decoded columns (rejected, or ingested before the store existed)."""


@dataclass(frozen=True, slots=True)
class SignalRef:
    text: str
    topic: str
    path: str
    index: int | None


def _glob_escape(text: str) -> str:
    # fnmatch has no escape character: a special character becomes a one-item class.
    return _GLOB_SPECIAL.sub(r"[\1]", text)


class RangeFile(io.RawIOBase):
    """A read-only, seekable file over one S3 object, one ranged GET per read."""

    def __init__(self, source: S3RangeSource) -> None:
        super().__init__()
        self.source = source
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.source.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.source.size - self.pos
        data = self.source.read(self.pos, size)
        self.pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class ManifestCache:
    """Signal-store manifests by run id: written once per run, so safe to keep."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = Lock()

    def get(self, key: str, load: Any) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        data: bytes = load(key)
        with self._lock:
            self._items[key] = data
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return data


def parse_refs(texts: list[str], manifest: dict[str, Any]) -> list[SignalRef]:
    """`topic:path` or `topic:path[i]` against the run's topics (a topic name may hold `:`)."""
    topics = {t["topic"]: {s["path"]: s for s in t["signals"]} for t in manifest["topics"]}
    refs = []
    for text in texts:
        ref = None
        for at in (i for i, c in enumerate(text) if c == ":"):
            topic, path = text[:at], text[at + 1 :]
            if topic not in topics:
                continue
            m = _INDEX.match(path)
            if path in topics[topic]:
                ref = SignalRef(text, topic, path, None)
            elif m and m["path"] in topics[topic]:
                ref = SignalRef(text, topic, m["path"], int(m["index"]))
            if ref:
                break
        if ref is None:
            raise FilterError("signals", f"this run has no signal {text!r} (see /signals for its keys)")
        info = topics[ref.topic][ref.path]
        if info.get("kind") == "string":
            raise FilterError("signals", f"{text!r} holds text, which cannot be plotted")
        if info.get("repeated") and ref.index is None:
            raise FilterError("signals", f"{text!r} is a repeated field: name one element, e.g. `{text}[0]`")
        if ref.index is not None and not info.get("repeated"):
            raise FilterError("signals", f"{text!r}: {ref.path} is not a repeated field")
        refs.append(ref)
    return refs


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A run's signal store: how to fetch its objects, and its manifest."""

    store: ObjectStore
    prefix: str
    manifest: dict[str, Any]
    get: Any  # key -> bytes

    def keys(self) -> list[str]:
        return [f"{t['topic']}:{s['path']}" for t in self.manifest["topics"] for s in t["signals"]]

    def read(self, refs: list[SignalRef], start: float | None, end: float | None) -> Recording:
        """The columns of `refs` (whole topics' times) within [start, end] seconds."""
        bucket = self.store.settings.bucket_signals
        topics = sorted({r.topic for r in refs})
        selection = Selection(
            topics="^(?:" + "|".join(re.escape(t) for t in topics) + ")$",
            signals=tuple(_glob_escape(f"{r.topic}:{r.path}") for r in refs),
            start_s=start,
            end_s=end,
        )
        return signalstore.read_recording(
            self.get, self.prefix, selection, open_file=lambda key: RangeFile(S3RangeSource(self.store, bucket, key))
        )


def open_run(store: ObjectStore, manifests: ManifestCache, run_id: str) -> StoredRun:
    """The run's signal store (NoSignalStore if it has none). Blocking."""
    bucket = store.settings.bucket_signals

    def get(key: str) -> bytes:
        if key.endswith(signalstore.MANIFEST):
            return manifests.get(key, lambda k: store.get_bytes(bucket, k))
        return store.get_bytes(bucket, key)

    try:
        prefix = signals_prefix(run_id)
    except InvalidKey:
        raise NoSignalStore(run_id) from None
    try:
        manifest = json.loads(get(f"{prefix}/{signalstore.MANIFEST}"))
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
            raise NoSignalStore(run_id) from exc
        raise
    return StoredRun(store, prefix, manifest, get)


def ref_values(rec: Recording, ref: SignalRef) -> tuple[np.ndarray, np.ndarray, Signal]:
    """(seconds since the origin, values as float64, the signal) of one reference."""
    tc = rec.topics[ref.topic]
    sig = tc.signals[ref.path]
    values = sig.values
    if ref.index is not None:
        if ref.index >= sig.width:
            raise FilterError("signals", f"{ref.text!r}: {ref.path} has {sig.width} elements (0-{sig.width - 1})")
        values = values[:, ref.index]
    t = (tc.log_time_ns - (rec.origin_ns or 0)) / 1e9
    return t, np.asarray(values, dtype=np.float64), sig


def stored_names(texts: list[str], present: set[str], aliases: Mapping[str, Sequence[str]]) -> list[str]:
    """Each asked key (`path[i]` too) as the run names it: itself, or the first alias it has."""
    out = []
    for text in texts:
        base, bracket, rest = text.partition("[")
        if base not in present:
            base = next((a for a in aliases.get(base, ()) if a in present), base)
        out.append(base + bracket + rest)
    return out


def read_series(
    store: ObjectStore,
    manifests: ManifestCache,
    run_id: str,
    texts: list[str],
    start: float | None,
    end: float | None,
    max_points: int,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> tuple[int | None, list[dict[str, Any]]]:
    """(origin_ns, one dict per requested signal, in the order asked). Blocking: run in a thread.

    `aliases`: other names of a key (catalogue renames): a key the run lacks is read under
    the first of them it has."""
    run = open_run(store, manifests, run_id)
    asked = texts
    texts = stored_names(texts, set(run.keys()), aliases or {})
    refs = parse_refs(texts, run.manifest)
    rec = run.read(refs, start, end)
    origin = rec.origin_ns
    out = []
    for text, ref in zip(asked, refs, strict=True):
        t, values, sig = ref_values(rec, ref)
        t_out, v_out, decimated = minmax(t, values, max_points)
        v_list = v_out.tolist()
        if not np.isfinite(v_out).all():
            v_list = [x if math.isfinite(x) else None for x in v_list]
        out.append(
            {
                "key": text,
                "stored_key": ref.text if ref.text != text else None,
                "kind": sig.kind,
                "t": t_out.tolist(),
                "v": v_list,
                "points_in_window": int(values.shape[0]),
                "decimated": decimated,
                "enum_names": {str(k): v for k, v in sig.enum_names.items()} if sig.enum_names else None,
            }
        )
    return origin, out
