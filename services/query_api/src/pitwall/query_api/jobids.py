"""Export job ids that carry their creation time.

query_api publishes `conversion.requested` and ingest records the job moments later.
A status request in between finds no job document yet; the time inside the id tells
"just asked for, not recorded yet" (answered as `queued`) from "never existed" (404)
without any state in the gateway, across restarts and replicas.
"""

from __future__ import annotations

import re
import secrets
import time

# 12 hex digits of milliseconds since the epoch + 20 random hex digits (80 bits).
_ID = re.compile(r"^[0-9a-f]{32}$")
GRACE_S = 120.0


def new_job_id(now: float | None = None) -> str:
    ms = int((time.time() if now is None else now) * 1000)
    return f"{ms:012x}{secrets.token_hex(10)}"


def is_job_id(text: str) -> bool:
    return _ID.match(text) is not None


def created_at(job_id: str) -> float:
    return int(job_id[:12], 16) / 1000.0


def recently_issued(job_id: str, now: float | None = None) -> bool:
    """True while a job this young may simply not be recorded by ingest yet."""
    age = (time.time() if now is None else now) - created_at(job_id)
    return -5.0 <= age <= GRACE_S
