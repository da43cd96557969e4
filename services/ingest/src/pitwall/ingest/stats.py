"""Per-signal statistics, so runs can be found by what happened in them."""

from __future__ import annotations

from typing import Any

import numpy as np

from pitwall.common.columns import Recording, Signal, TopicColumns
from pitwall.common.contracts.documents import ChannelDoc
from pitwall.common.contracts.signalinfo import states_json

MAX_DISTINCT = 32
INTEGER_KINDS = ("int32", "uint32", "int64", "uint64")
CODE_SPAN = 4096  # an integer signal spanning more values is no state signal


def signal_key(topic: str, path: str) -> str:
    return f"{topic}:{path}"


def signal_stats(topic: TopicColumns, sig: Signal) -> dict[str, Any]:
    """count/min/max/mean of a signal; distinct values for enums, bools and strings."""
    doc: dict[str, Any] = {
        "key": signal_key(topic.topic, sig.path),
        "topic": topic.topic,
        "path": sig.path,
        "kind": sig.kind,
        "count": int(sig.values.shape[0]),
    }
    if sig.repeated:
        doc["width"] = sig.width
    schema = _schema_info(topic, sig)
    if schema:
        doc["schema"] = schema
    values = sig.values
    if sig.kind == "string":
        distinct = sorted({str(v) for v in values[:100_000]})
        doc["distinct"] = distinct[:MAX_DISTINCT]
        doc["distinct_count"] = len(distinct)
        return doc
    if values.size == 0:
        return doc
    numeric = values.astype(np.float64, copy=False)
    finite = numeric[np.isfinite(numeric)] if numeric.dtype.kind == "f" else numeric
    if finite.size:
        doc["min"] = float(finite.min())
        doc["max"] = float(finite.max())
        doc["mean"] = float(finite.mean())
    if sig.kind in ("enum", "logical"):
        codes = np.unique(values)
        doc["distinct"] = [int(c) for c in codes[:MAX_DISTINCT]]
        if sig.enum_names:
            doc["distinct_names"] = [sig.enum_names.get(int(c), str(int(c))) for c in codes[:MAX_DISTINCT]]
    elif sig.kind in INTEGER_KINDS and not sig.repeated and "min" in doc:
        # A CAN description names the states of plain integer fields (the team's protobufs
        # keep enum codes as int32): their distinct codes let a where-query find a state.
        few = _few_codes(values, doc["min"], doc["max"])
        if few is not None:
            doc["distinct"] = few
    return doc


def _few_codes(values: np.ndarray, lo: float, hi: float) -> list[int] | None:
    """The distinct values of a narrow integer column (one bincount pass), else None."""
    if hi - lo >= CODE_SPAN or not -(2**62) < lo <= hi < 2**62:  # huge codes are no states (and overflow)
        return None
    counts = np.bincount((values.astype(np.int64, copy=False) - int(lo)), minlength=1)
    present = np.flatnonzero(counts)
    if present.size > MAX_DISTINCT:
        return None
    return [int(c) + int(lo) for c in present]


def _schema_info(topic: TopicColumns, sig: Signal) -> dict[str, Any]:
    """What the MCAP's own schema says of the signal (the catalogue's last resort): protobuf
    enum names (all of them, not only the codes seen), JSON-schema unit and description."""
    info: dict[str, Any] = dict(topic.schema_info.get(sig.path) or {})
    if sig.enum_names:
        info["states"] = states_json(sig.enum_names)
    return info


def recording_stats(rec: Recording) -> list[dict[str, Any]]:
    return [signal_stats(t, s) for t in rec.topics.values() for s in t.signals.values()]


def channel_summaries(rec: Recording) -> list[ChannelDoc]:
    out: list[ChannelDoc] = []
    for t in rec.topics.values():
        n = t.count
        first = int(t.log_time_ns[0]) if n else None
        last = int(t.log_time_ns[-1]) if n else None
        span = (last - first) / 1e9 if n > 1 and first is not None and last is not None else 0.0
        out.append(
            {
                "topic": t.topic,
                "schema_name": t.schema_name,
                "encoding": t.encoding,
                "message_count": n,
                "rate_hz": (n - 1) / span if span > 0 else None,
                "first_ns": first,
                "last_ns": last,
                "signal_count": len(t.signals),
            }
        )
    return out
