"""When a file on the car is finished: the logger is not writing it any more.

A file that ends in the MCAP footer magic and held still across two scans is done.
One without the footer is taken once it held still for `settle_s` (the logger was
switched off mid-file: ingest recovers what is there). One still changing is left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pitwall.basestation.sources.base import RemoteFile


@dataclass(slots=True)
class _Seen:
    size: int
    mtime_ns: int
    still_since: float


class SettleTracker:
    def __init__(self, settle_s: float) -> None:
        self.settle_s = settle_s
        self._seen: dict[tuple[str, str], _Seen] = {}

    def observe(self, source: str, files: list[RemoteFile], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        current = {(source, f.path) for f in files}
        for key in [k for k in self._seen if k[0] == source and k not in current]:
            del self._seen[key]
        for f in files:
            prev = self._seen.get((source, f.path))
            if prev is None or prev.size != f.size or prev.mtime_ns != f.mtime_ns:
                self._seen[(source, f.path)] = _Seen(f.size, f.mtime_ns, now)

    def still_for(self, source: str, f: RemoteFile, now: float | None = None) -> float | None:
        """Seconds this exact version has been seen unchanged (None: first sighting)."""
        now = time.monotonic() if now is None else now
        prev = self._seen.get((source, f.path))
        if prev is None or prev.size != f.size or prev.mtime_ns != f.mtime_ns:
            return None
        return now - prev.still_since

    def is_finished(self, source: str, f: RemoteFile, has_footer: bool, now: float | None = None) -> bool:
        still = self.still_for(source, f, now)
        if still is None or f.size == 0:
            return False
        if has_footer:
            return still > 0 or self.settle_s == 0
        return still >= self.settle_s
