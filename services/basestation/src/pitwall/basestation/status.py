"""`pitwall basestation status`: the journal as people read it."""

from __future__ import annotations

import time
from typing import Any

from pitwall.basestation.journal import Entry, Journal


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def human_age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"


def entry_doc(e: Entry) -> dict[str, Any]:
    return {
        "id": e.id, "source": e.source, "path": e.path, "size": e.size, "mtime_ns": e.mtime_ns,
        "state": e.state, "sha256": e.sha256, "footer": bool(e.footer), "attempts": e.attempts,
        "last_error": e.last_error, "phase": e.phase, "progress": e.progress, "run_status": e.run_status,
        "reason": e.reason, "seen_at": e.seen_at, "copied_at": e.copied_at, "uploaded_at": e.uploaded_at,
        "confirmed_at": e.confirmed_at, "removed_at": e.removed_at,
    }


def report(journal: Journal) -> dict[str, Any]:
    entries = journal.all()
    meta = journal.meta("status")
    return {
        "files": [entry_doc(e) for e in entries],
        "totals": journal.counts(),
        "bytes": {
            "on_station_not_uploaded": sum(e.size for e in entries if e.state == "copied"),
            "total": sum(e.size for e in entries),
        },
        "station": meta[0] if meta else None,
        "station_reported_at": meta[1] if meta else None,
    }


def _state_cell(e: Entry) -> str:
    if e.phase and e.size:
        return f"{e.phase} {100 * e.progress / e.size:.0f}%"
    if e.state == "rejected":
        return "REJECTED"
    return e.state


def render(doc: dict[str, Any], journal: Journal, now: float | None = None) -> str:
    now = time.time() if now is None else now
    entries = journal.all()
    lines: list[str] = []
    station = doc.get("station")
    if station:
        age = human_age(now - (doc.get("station_reported_at") or now))
        cloud = "reachable" if station.get("cloud_reachable") else "UNREACHABLE"
        lines.append(f"station {station['station_id']}: cloud {cloud}, last pass {age} ago")
        for s in station.get("sources", []):
            state = "reachable" if s["reachable"] else f"UNREACHABLE ({s.get('last_error') or '?'})"
            lines.append(f"  source {s['source_id']} ({s['kind']}): {state}, {s['pending']} pending on it")
        lines.append("")
    header = ("STATE", "SIZE", "AGE", "TRIES", "SOURCE", "FILE", "LAST ERROR / REASON")
    rows = [header]
    for e in entries:
        note = e.reason if e.state == "rejected" else (e.last_error or "")
        if e.state == "confirmed" and e.run_status == "recovered":
            note = "recovered run (no footer: logger switched off)"
        rows.append((_state_cell(e), human_bytes(e.size), human_age(now - e.mtime_ns / 1e9), str(e.attempts),
                     e.source, e.path, (note or "")[:80]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])
    if len(rows) == 1:
        lines.append("(no files yet)")
    totals = doc["totals"]
    order = ("seen", "copied", "uploaded", "confirmed", "rejected", "removed_from_car", "superseded")
    lines.append("")
    lines.append("totals: " + ", ".join(f"{totals.get(k, 0)} {k}" for k in order if totals.get(k)) +
                 f"; {human_bytes(doc['bytes']['on_station_not_uploaded'])} waiting to upload")
    return "\n".join(lines)
