"""`meta`: where an export came from, how it was made and what it left out.

One description, two renderings: a MATLAB struct for MAT files, JSON for CSV/Parquet
(`meta.json` beside the per-topic files, or the Parquet schema metadata).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pitwall.common.columns import Recording, Skipped
from pitwall.export.matvalue import Cell, MatValue, StrCell, str_column, table
from pitwall.export.signalinfo import Facts, describe, enum_rows
from pitwall.export.timebase import origin_of

# Written into every file's meta: the name the files have always carried (the core lived in
# the converter service), kept so that an export's bytes do not change with the move.
CONVERTER = "pitwall-converter 0.1.0"
TIME_REFERENCE = "t: seconds since start_time (log time of the first message of the recording)"


def iso_utc(ns: int) -> str:
    """ISO-8601 UTC with all nine digits of the nanoseconds."""
    sec, frac = divmod(ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(sec, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


@dataclass(slots=True)
class ExportInfo:
    """The export parameters as recorded (what was asked, and the format written)."""

    format: str
    layout: str | None
    resample_hz: float | None
    interp: str | None
    start_s: float | None
    end_s: float | None
    topics: str | None
    signals: list[str] = field(default_factory=list)


def _all_skipped(rec: Recording, extra: list[Skipped]) -> list[Skipped]:
    out = list(rec.skipped) + list(extra)
    said = any(s.what == "tail" for s in out)  # the reader may have said it already
    if rec.lost_tail_bytes and not said:
        out.append(
            Skipped(
                "tail", f"file cut off: {rec.lost_tail_bytes} bytes after the last complete record"
            )
        )
    return out


@dataclass(slots=True)
class Meta:
    rec: Recording
    origin_ns: int | None
    source_file: str
    source_sha256: str | None
    export: ExportInfo
    topic_names: dict[str, str]
    skipped: list[Skipped]
    enums: list[tuple[str, int, str]]
    counts: dict[str, int]  # messages per topic in the source (not resampled rows)

    @classmethod
    def build(
        cls,
        rec: Recording,
        *,
        source_file: str,
        source_sha256: str | None,
        export: ExportInfo,
        topic_names: dict[str, str],
        extra_skipped: list[Skipped] | None = None,
        counts: dict[str, int] | None = None,
        facts: Mapping[str, Facts] | None = None,
    ) -> Meta:
        # The catalogue's state names where it has them, else the protobuf enum names.
        enums = enum_rows(rec, describe(rec, {}) if facts is None else facts)
        has_rows = any(tc.count for tc in rec.topics.values())
        origin = rec.origin_ns if rec.origin_ns is not None or not has_rows else origin_of(rec)
        return cls(
            rec,
            origin,
            source_file,
            source_sha256,
            export,
            topic_names,
            _all_skipped(rec, extra_skipped or []),
            enums,
            counts if counts is not None else {t: tc.count for t, tc in rec.topics.items()},
        )

    def _topic_rows(self) -> list[tuple[str, str, str, str, int]]:
        return [
            (
                topic,
                self.topic_names.get(topic, ""),
                tc.schema_name,
                tc.encoding,
                self.counts.get(topic, tc.count),
            )
            for topic, tc in self.rec.topics.items()
        ]

    def _metadata_rows(self) -> list[tuple[str, str, str]]:
        return [
            (name, key, value)
            for name, record in self.rec.metadata.items()
            for key, value in record.items()
        ]

    def to_mat(self) -> dict[str, MatValue]:
        def opt(x: float | None) -> MatValue:
            return None if x is None else np.float64(x)

        e = self.export
        export: dict[str, MatValue] = {
            "format": e.format,
            "layout": e.layout or "",
            "resample_hz": opt(e.resample_hz),
            "interp": e.interp or "",
            "start_s": opt(e.start_s),
            "end_s": opt(e.end_s),
            "topics": e.topics or "",
            "signals": str_column(e.signals),
        }
        origin = self.origin_ns
        topics = self._topic_rows()
        skipped = self.skipped
        return {
            "source_file": self.source_file,
            "source_sha256": self.source_sha256 or "",
            # int64 keeps every nanosecond; a double would round to ~256 ns.
            "start_time_ns": np.zeros((0, 0), np.int64) if origin is None else np.int64(origin),
            "start_time_iso": "" if origin is None else iso_utc(origin),
            "time_reference": TIME_REFERENCE,
            "export": export,
            "message_count": np.float64(self.rec.message_count),
            "source_size": np.float64(self.rec.source_size),
            "truncated": np.bool_(self.rec.truncated),
            "lost_tail_bytes": np.float64(self.rec.lost_tail_bytes),
            "topics": table([(a, b, c, d, np.float64(n)) for a, b, c, d, n in topics], 5)
            if topics
            else Cell([], (0, 5)),
            "skipped": table([(s.what, s.reason, np.float64(s.count)) for s in skipped], 3)
            if skipped
            else Cell([], (0, 3)),
            "enums": table([(p, np.int32(c), label) for p, c, label in self.enums], 3)
            if self.enums
            else Cell([], (0, 3)),
            "metadata": _str_table(self._metadata_rows(), 3),
            "converter": CONVERTER,
        }

    def to_json(self) -> dict[str, Any]:
        e = self.export
        origin = self.origin_ns
        return {
            "source_file": self.source_file,
            "source_sha256": self.source_sha256,
            "start_time_ns": origin,
            "start_time_iso": None if origin is None else iso_utc(origin),
            "time_reference": TIME_REFERENCE,
            "export": {
                "format": e.format,
                "layout": e.layout,
                "resample_hz": e.resample_hz,
                "interp": e.interp,
                "start_s": e.start_s,
                "end_s": e.end_s,
                "topics": e.topics,
                "signals": e.signals,
            },
            "message_count": self.rec.message_count,
            "source_size": self.rec.source_size,
            "truncated": self.rec.truncated,
            "lost_tail_bytes": self.rec.lost_tail_bytes,
            "topics": [
                {"topic": a, "name": b, "schema": c, "encoding": d, "count": n}
                for a, b, c, d, n in self._topic_rows()
            ],
            "skipped": [
                {"what": s.what, "reason": s.reason, "count": s.count} for s in self.skipped
            ],
            "enums": [{"signal": p, "code": c, "label": label} for p, c, label in self.enums],
            "metadata": {name: dict(rec) for name, rec in self.rec.metadata.items()},
            "converter": CONVERTER,
        }


def _str_table(rows: Sequence[tuple[str, ...]], width: int) -> StrCell | Cell:
    if not rows:
        return Cell([], (0, width))
    return str_column([c for row in rows for c in row], width)
