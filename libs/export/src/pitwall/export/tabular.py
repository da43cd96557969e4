"""CSV and Parquet exports through pyarrow.

- resampled: one wide file, `t` then one column per signal named `topic:field.path`
  (a repeated element `topic:field.path[i]`, 0-based), the names `--signals` globs match;
- not resampled: one file per topic, named by the MATLAB rule (safe on every file
  system), columns `t`, `log_time_ns` (absolute, exact) and the signals by field path
  (a field whose path is already taken by a time column gets `_2`: `t_2`).
  Parquet goes into a folder, CSV into a zip; `meta.json` sits beside the topic files
  (one topic asked for as `.csv` is that one CSV, without meta, like a wide CSV).

What each signal is (`signalinfo.Facts`): Parquet keeps it in each signal field's metadata
(`unit`, `description`, `states` as a JSON object); a CSV zip holds `signals.csv` beside
`meta.json` (key, column, unit, description, states), a lone CSV file has no room for it.

Types: Parquet keeps every native type (enums as int32 codes, strings as UTF-8); CSV
writes floats in their shortest exact form, booleans as true/false, NaN as `nan`.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pitwall.common.columns import NUMPY_DTYPE, Recording, Signal, TopicColumns
from pitwall.export.naming import allocate
from pitwall.export.signalinfo import NO_FACTS, Facts, signal_key, signals_csv
from pitwall.export.timebase import origin_of, seconds_since

TableFormat = Literal["csv", "parquet"]
FactsByKey = Mapping[str, Facts]  # by signal key
# (column name, values, signal key; None for a time column)
_Column = tuple[str, pa.Array, str | None]
# The signal columns of a written table: (signal key, column name as headed).
Listing = list[tuple[str, str]]


def _signal_columns(sig: Signal, name: str, key: str) -> list[_Column]:
    if sig.kind == "string":
        return [(name, pa.array(np.asarray(sig.values, dtype=object), type=pa.string()), key)]
    if sig.repeated:
        vals = np.asarray(sig.values, dtype=np.float64)
        return [(f"{name}[{i}]", pa.array(vals[:, i]), key) for i in range(vals.shape[1])]
    return [(name, pa.array(np.asarray(sig.values, dtype=NUMPY_DTYPE[sig.kind])), key)]


def _table(cols: list[_Column], facts: FactsByKey) -> tuple[pa.Table, Listing]:
    """A table whose column names are unique: a message field called `t` or `log_time_ns`
    meets the time columns, and then gets `_2` (as the MAT layout's `t_2`). Each signal
    field carries its facts as field metadata."""
    taken: set[str] = set()
    fields: list[pa.Field] = []
    listing: Listing = []
    for name, values, key in cols:
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}_{n}", n + 1
        taken.add(unique)
        meta = facts.get(key, NO_FACTS).field_metadata() if key is not None else {}
        fields.append(pa.field(unique, values.type, metadata=meta or None))
        if key is not None:
            listing.append((key, unique))
    table = pa.Table.from_arrays([a for _, a, _ in cols], schema=pa.schema(fields))
    return table, listing


def topic_table(tc: TopicColumns, origin: int, facts: FactsByKey | None = None) -> tuple[pa.Table, Listing]:
    cols: list[_Column] = [
        ("t", pa.array(seconds_since(tc.log_time_ns, origin)), None),
        ("log_time_ns", pa.array(np.asarray(tc.log_time_ns, dtype=np.int64)), None),
    ]
    for sig in tc.signals.values():
        cols += _signal_columns(sig, sig.path, signal_key(tc.topic, sig.path))
    return _table(cols, facts or {})


def wide_table(rec: Recording, facts: FactsByKey | None = None) -> tuple[pa.Table, Listing]:
    """All topics of a resampled recording side by side (they share one time grid)."""
    origin = origin_of(rec)
    topics = list(rec.topics.values())
    grid = topics[0].log_time_ns if topics else np.zeros(0, dtype=np.int64)
    for tc in topics:
        if not np.array_equal(tc.log_time_ns, grid):
            raise ValueError("a wide table needs every topic on the same time grid (resample)")
    cols: list[_Column] = [("t", pa.array(seconds_since(grid, origin)), None)]
    for tc in topics:
        for sig in tc.signals.values():
            key = signal_key(tc.topic, sig.path)
            cols += _signal_columns(sig, f"{tc.topic}:{sig.path}", key)
    return _table(cols, facts or {})


def _with_meta(table: pa.Table, meta: dict[str, Any]) -> pa.Table:
    return table.replace_schema_metadata({b"pitwall.meta": json.dumps(meta).encode()})


def _write_table(table: pa.Table, sink: Any, fmt: TableFormat) -> None:
    if fmt == "csv":
        pacsv.write_csv(table, sink)
    else:
        pq.write_table(table, sink, compression="zstd")


def _csv_buffer(table: pa.Table) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return sink.getvalue()


# Zip entries carry a time stamp; a fixed one (the zip epoch, as reproducible builds use)
# makes the same selection give the same bytes, whenever and wherever it is converted.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
SIGNALS_CSV = "signals.csv"


def zip_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def write_wide(
    rec: Recording,
    out: Path,
    fmt: TableFormat,
    meta: dict[str, Any],
    facts: FactsByKey | None = None,
    *,
    zip_member: str | None = None,
) -> list[Path]:
    """The one wide table; as CSV, inside a zip (with meta.json and signals.csv) when
    `zip_member` names the CSV file in it."""
    facts = facts or {}
    table, listing = wide_table(rec, facts)
    if fmt == "parquet":
        _write_table(_with_meta(table, meta), out, fmt)
    elif zip_member is not None:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr(zip_entry(zip_member), memoryview(_csv_buffer(table)), compresslevel=1)
            zf.writestr(zip_entry("meta.json"), json.dumps(meta, indent=1), compresslevel=1)
            zf.writestr(zip_entry(SIGNALS_CSV), signals_csv(listing, facts), compresslevel=1)
    else:
        _write_table(table, out, fmt)
    return [out]


def write_topic_csv(rec: Recording, out: Path) -> list[Path]:
    """The one topic of `rec` as a plain CSV (columns as in `topic_table`)."""
    (tc,) = rec.topics.values()
    _write_table(topic_table(tc, origin_of(rec))[0], out, "csv")
    return [out]


def file_names(rec: Recording, fmt: TableFormat) -> dict[str, str]:
    """topic -> file stem of its per-topic file (in a CSV zip, a topic called `signals`
    leaves `signals.csv` to the listing of signals)."""
    topics = list(rec.topics)
    reserved = (SIGNALS_CSV.removesuffix(".csv"),) if fmt == "csv" else ()
    return dict(zip(topics, allocate(topics, reserved=reserved), strict=True))


def write_per_topic(
    rec: Recording,
    out: Path,
    fmt: TableFormat,
    meta: dict[str, Any],
    progress: Callable[[float], None] | None = None,
    facts: FactsByKey | None = None,
) -> list[Path]:
    """Parquet: a folder `out` of `<topic>.parquet`; CSV: a zip `out` of `<topic>.csv`
    (and `signals.csv`).

    pyarrow (CSV formatting, Parquet encoding) and zlib both release the GIL, so two
    threads overlap: Parquet files are written two at a time, and the next topic's CSV
    text is formatted while the previous one is deflated into the zip.
    """
    origin = origin_of(rec)
    facts = facts or {}
    jobs = list(zip(rec.topics.values(), file_names(rec, fmt).values(), strict=True))
    weights = [max(tc.count, 1) * (1 + len(tc.signals)) for tc, _ in jobs]
    total, done = sum(weights) or 1, 0

    def advance(w: int) -> None:
        nonlocal done
        done += w
        if progress is not None:
            progress(done / total)

    with ThreadPoolExecutor(max_workers=2) as pool:
        if fmt == "parquet":
            out.mkdir(parents=True, exist_ok=True)

            def one(tc: TopicColumns, path: Path) -> None:
                table, _ = topic_table(tc, origin, facts)
                _write_table(_with_meta(table, {"topic": tc.topic}), path, fmt)

            paths = [out / f"{name}.parquet" for _, name in jobs]
            futures = [pool.submit(one, tc, p) for (tc, _), p in zip(jobs, paths, strict=True)]
            for fut, w in zip(futures, weights, strict=True):
                fut.result()
                advance(w)
            (out / "meta.json").write_text(json.dumps(meta, indent=1))
            return [*paths, out / "meta.json"]

        def render(tc: TopicColumns) -> tuple[pa.Buffer, Listing]:
            table, listing = topic_table(tc, origin, facts)
            return _csv_buffer(table), listing

        listed: Listing = []
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            pending = pool.submit(render, jobs[0][0]) if jobs else None
            for k, ((_, name), w) in enumerate(zip(jobs, weights, strict=True)):
                assert pending is not None
                text, listing = pending.result()
                listed += listing
                pending = pool.submit(render, jobs[k + 1][0]) if k + 1 < len(jobs) else None
                zf.writestr(zip_entry(f"{name}.csv"), memoryview(text), compresslevel=1)
                advance(w)
            zf.writestr(zip_entry("meta.json"), json.dumps(meta, indent=1), compresslevel=1)
            zf.writestr(zip_entry(SIGNALS_CSV), signals_csv(listed, facts), compresslevel=1)
    return [out]
