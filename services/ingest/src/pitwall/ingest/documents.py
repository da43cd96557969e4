"""Building the run document from a recording's digest (plain data, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from pitwall.common.contracts.documents import RunDoc, UploadDoc
from pitwall.common.contracts.searchwords import word_set
from pitwall.common.events import FileUploaded
from pitwall.common.runevents import RunEvent
from pitwall.ingest.digest import Digest
from pitwall.ingest.setup import normalise_setup


def upload_entry(event: FileUploaded) -> UploadDoc:
    return {
        "event_id": event.event_id,
        "filename": event.filename,
        "source": event.source,
        "source_id": event.source_id,
        "uploader": event.uploader,
        "received_at": event.received_at,
    }


def _dt(ns: int | None) -> datetime | None:
    return None if ns is None else datetime.fromtimestamp(ns / 1e9, tz=UTC)


def run_document(digest: Digest, event: FileUploaded) -> RunDoc:
    start_ns, end_ns = digest.start_ns, digest.end_ns
    setup, raw = normalise_setup(digest.file.metadata)
    track = digest.track()
    laps = digest.laps(track)
    now = datetime.now(UTC)
    lost_messages = sum(s.count for s in digest.file.skipped if s.what == "tail")
    doc: RunDoc = {
        "_id": event.sha256,
        "sha256": event.sha256,
        "status": "recovered" if digest.file.truncated else "ready",
        "object_key": event.object_key,
        "size": event.size,
        "filename": event.filename,
        "uploads": [upload_entry(event)],
        "start_ns": start_ns,
        "end_ns": end_ns,
        "start_time": _dt(start_ns),
        "end_time": _dt(end_ns),
        "duration_s": (end_ns - start_ns) / 1e9 if start_ns is not None and end_ns is not None else 0.0,
        "message_count": digest.file.message_count,
        "recovery": {"truncated": digest.file.truncated, "lost_tail_bytes": digest.file.lost_tail_bytes,
                     "lost_messages": lost_messages},
        "skipped": [{"what": s.what, "reason": s.reason, "count": s.count} for s in digest.file.skipped],
        "setup": setup,
        "setup_raw": raw,
        "metadata": digest.file.metadata,
        "channels": sorted(digest.channels, key=lambda c: (c["topic"], c["schema_name"])),
        "topics": digest.topics,
        "signal_keys": sorted(digest.signal_keys),
        "track": track.as_doc() if track else None,
        "laps": laps,
        "lap_count": len(laps),
        "best_lap_s": min((lap["time_s"] for lap in laps), default=None),
        "distance_m": track.distance_m if track else None,
        "top_speed_mps": track.top_speed_mps if track else None,
        "notes": "",
        "tags": [],
        "events": [RunEvent(**e, source="rule", created_by="ingest", created_at=now).doc() for e in digest.rule_events],
        "deleted": False,
        "deleted_at": None,
        "ingested_at": now,
        "updated_at": now,
    }
    doc["search"] = word_set(event.filename, *(v for v in setup.values() if isinstance(v, str)))
    return doc


def rejected_document(event: FileUploaded, reason: str) -> RunDoc:
    now = datetime.now(UTC)
    return {
        "_id": event.sha256,
        "sha256": event.sha256,
        "status": "rejected",
        "reason": reason,
        "object_key": event.object_key,
        "size": event.size,
        "filename": event.filename,
        "uploads": [upload_entry(event)],
        "start_ns": None,
        "start_time": None,
        "setup": dict.fromkeys(("driver", "track", "event_type", "car")),
        "topics": [],
        "signal_keys": [],
        "notes": "",
        "tags": [],
        "deleted": False,
        "deleted_at": None,
        "ingested_at": now,
        "updated_at": now,
        "search": word_set(event.filename),
    }
