"""The stored form of a CAN description: a plain document (MongoDB, the bus) and back.

A source is stored parsed, so readers never need cantools: query_api and ingest rebuild a
`CanSource` from the document. State codes become decimal-string keys (BSON and JSON keys
are strings) and are turned back into integers here, in one place.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pitwall.common.catalogue.model import CanMessage, CanSignal, CanSource


def source_doc(source: CanSource) -> dict[str, Any]:
    """`source` as a document: what `catalogue.command` carries and ingest stores."""
    return {
        "name": source.name,
        "format": source.format,
        "valid_from": source.valid_from.isoformat() if source.valid_from else None,
        "version": source.version,
        "message_count": source.message_count,
        "signal_count": source.signal_count,
        "messages": [
            {
                "name": m.name,
                "frame_id": m.frame_id,
                "description": m.description,
                "signals": [
                    {
                        "name": s.name,
                        "unit": s.unit,
                        "description": s.description,
                        "factor": s.factor,
                        "offset": s.offset,
                        "states": {str(code): name for code, name in sorted(s.states.items())},
                    }
                    for s in m.signals
                ],
            }
            for m in source.messages
        ],
    }


def source_from_doc(doc: dict[str, Any]) -> CanSource:
    """The `CanSource` of a stored document (`source_doc`'s inverse)."""
    valid_from = doc.get("valid_from")
    return CanSource(
        name=str(doc["name"]),
        format=str(doc.get("format") or ""),
        valid_from=date.fromisoformat(valid_from) if valid_from else None,
        version=int(doc.get("version") or 0),
        messages=tuple(
            CanMessage(
                name=str(m["name"]),
                frame_id=int(m.get("frame_id") or 0),
                description=m.get("description"),
                signals=tuple(
                    CanSignal(
                        name=str(s["name"]),
                        unit=s.get("unit"),
                        description=s.get("description"),
                        factor=float(s.get("factor", 1.0)),
                        offset=float(s.get("offset", 0.0)),
                        states={int(c): str(n) for c, n in (s.get("states") or {}).items()},
                    )
                    for s in m.get("signals") or []
                ),
            )
            for m in doc.get("messages") or []
        ),
    )
