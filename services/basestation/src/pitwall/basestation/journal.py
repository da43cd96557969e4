"""The station's memory: one SQLite row per file version it has seen, in WAL mode.

A file version is (source, path, size, mtime). Its state only moves forward:

    seen → copied → uploaded → confirmed → removed_from_car
                             ↘ rejected
    seen → superseded   (the version changed or vanished on the car before it was copied)

`seen`: finished on the car, not on the station yet. `copied`: a verified copy is in
the spool under its SHA-256. `uploaded`: announced to the cloud. `confirmed`: the
cloud has the run. Every write is one short transaction, so a power cut loses at most
the step in flight, and that step is repeatable.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

STATES = ("seen", "copied", "uploaded", "confirmed", "rejected", "removed_from_car", "superseded")
# Forward only. confirmed and rejected are both final answers from the cloud (one cannot
# become the other); only a confirmed file may leave the car.
NEXT: dict[str, frozenset[str]] = {
    "seen": frozenset({"copied", "superseded"}),
    "copied": frozenset({"uploaded", "confirmed", "rejected"}),
    "uploaded": frozenset({"confirmed", "rejected"}),
    "confirmed": frozenset({"removed_from_car"}),
    "rejected": frozenset(),
    "removed_from_car": frozenset(),
    "superseded": frozenset(),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'seen',
    sha256 TEXT,
    footer INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    error_at REAL,
    next_try_at REAL NOT NULL DEFAULT 0,
    phase TEXT,
    progress INTEGER NOT NULL DEFAULT 0,
    upload_id TEXT,
    event_id TEXT,
    run_status TEXT,
    reason TEXT,
    seen_at REAL NOT NULL,
    copied_at REAL,
    uploaded_at REAL,
    confirmed_at REAL,
    removed_at REAL,
    UNIQUE (source, path, size, mtime_ns)
);
CREATE INDEX IF NOT EXISTS files_state ON files (state, mtime_ns);
CREATE INDEX IF NOT EXISTS files_sha ON files (sha256);
CREATE TABLE IF NOT EXISTS station (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    source: str
    path: str
    size: int
    mtime_ns: int
    state: str
    sha256: str | None
    footer: int
    attempts: int
    last_error: str | None
    error_at: float | None
    next_try_at: float
    phase: str | None
    progress: int
    upload_id: str | None
    event_id: str | None
    run_status: str | None
    reason: str | None
    seen_at: float
    copied_at: float | None
    uploaded_at: float | None
    confirmed_at: float | None
    removed_at: float | None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


_COLUMNS = [f.name for f in fields(Entry)]


class StateError(RuntimeError):
    pass


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # autocommit: each statement is its own transaction unless `transaction()` is used.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: a row that says `copied` survives a power cut together with the file.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Entry]:
        cur = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM files {sql}", args)
        return [Entry(*row) for row in cur.fetchall()]

    def record(self, source: str, path: str, size: int, mtime_ns: int, footer: bool) -> Entry:
        """The row of this file version, made `seen` if new."""
        self.db.execute(
            "INSERT OR IGNORE INTO files (source, path, size, mtime_ns, footer, seen_at) VALUES (?, ?, ?, ?, ?, ?)",
            (source, path, size, mtime_ns, int(footer), time.time()),
        )
        return self._rows("WHERE source = ? AND path = ? AND size = ? AND mtime_ns = ?",
                          (source, path, size, mtime_ns))[0]

    def get(self, entry_id: int) -> Entry:
        rows = self._rows("WHERE id = ?", (entry_id,))
        if not rows:
            raise KeyError(entry_id)
        return rows[0]

    def known(self, source: str, path: str, size: int, mtime_ns: int) -> Entry | None:
        rows = self._rows("WHERE source = ? AND path = ? AND size = ? AND mtime_ns = ?", (source, path, size, mtime_ns))
        return rows[0] if rows else None

    def all(self) -> list[Entry]:
        return self._rows("ORDER BY mtime_ns, id")

    def in_state(self, *states: str, due: float | None = None) -> list[Entry]:
        """Rows in these states, oldest recording first (the order the queue drains in)."""
        marks = ", ".join("?" for _ in states)
        if due is None:
            return self._rows(f"WHERE state IN ({marks}) ORDER BY mtime_ns, id", states)
        return self._rows(f"WHERE state IN ({marks}) AND next_try_at <= ? ORDER BY mtime_ns, id", (*states, due))

    def with_sha(self, sha256: str) -> list[Entry]:
        return self._rows("WHERE sha256 = ? ORDER BY id", (sha256,))

    def advance(self, entry_id: int, state: str, **values: Any) -> Entry:
        """Move a row forward (never back), clearing its error; other columns as given."""
        if state not in NEXT:
            raise StateError(f"unknown state {state!r}")
        stamp = {"copied": "copied_at", "uploaded": "uploaded_at", "confirmed": "confirmed_at",
                 "rejected": "confirmed_at", "removed_from_car": "removed_at", "superseded": "removed_at"}.get(state)
        values = {"last_error": None, "error_at": None, "next_try_at": 0, "phase": None, **values}
        if stamp and stamp not in values:
            values[stamp] = time.time()
        with self.transaction():
            current = self.get(entry_id)
            if state not in NEXT[current.state]:
                raise StateError(f"file {current.path}: {current.state} cannot become {state}")
            self._set(entry_id, state=state, **values)
        return self.get(entry_id)

    def update(self, entry_id: int, **values: Any) -> None:
        """Columns other than the state (progress, upload id, ...)."""
        if "state" in values:
            raise StateError("use advance() to change a state")
        self._set(entry_id, **values)

    def fail(self, entry_id: int, error: str, retry_in_s: float) -> None:
        now = time.time()
        self.db.execute(
            "UPDATE files SET attempts = attempts + 1, last_error = ?, error_at = ?, next_try_at = ?, phase = NULL"
            " WHERE id = ?",
            (error[:500], now, now + retry_in_s, entry_id),
        )

    def _set(self, entry_id: int, **values: Any) -> None:
        unknown = set(values) - set(_COLUMNS)
        if unknown:
            raise StateError(f"unknown columns {sorted(unknown)}")
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE files SET {sets} WHERE id = ?", (*values.values(), entry_id))

    def put_meta(self, key: str, value: Any) -> None:
        """Station-wide facts for `status` (the last heartbeat: sources, cloud link)."""
        self.db.execute(
            "INSERT OR REPLACE INTO station (key, value, at) VALUES (?, ?, ?)", (key, json.dumps(value), time.time())
        )

    def meta(self, key: str) -> tuple[Any, float] | None:
        row = self.db.execute("SELECT value, at FROM station WHERE key = ?", (key,)).fetchone()
        return (json.loads(row[0]), float(row[1])) if row else None

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM files GROUP BY state").fetchall())
