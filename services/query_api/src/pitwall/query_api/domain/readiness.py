"""Readiness: each dependency checked (MongoDB, the broker, S3) with what is wrong when one
is down, and the backups' verdict beside them (reported, never a reason to be unready)."""

from __future__ import annotations

import asyncio
from typing import Any

from pitwall.common import db
from pitwall.query_api.domain import backups
from pitwall.query_api.resources import Resources

TIMEOUT_S = 3.0


async def _check(coro: Any) -> dict[str, str]:
    try:
        await asyncio.wait_for(coro, timeout=TIMEOUT_S)
        return {"status": "up"}
    except Exception as exc:
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}


async def _broker(res: Resources) -> None:
    if res.amqp is None or res.amqp.is_closed:
        raise ConnectionError("not connected to RabbitMQ")
    # A round trip proves the connection is alive, not just that it once was.
    channel = await res.amqp.channel()
    await channel.close()


async def readiness(res: Resources) -> tuple[bool, dict[str, Any]]:
    """(ready, the /readyz body): ready when MongoDB, the broker and S3 all answer."""
    mongo, broker, s3 = await asyncio.gather(
        _check(db.ping(res.mongo)),
        _check(_broker(res)),
        _check(asyncio.to_thread(res.store.ping)),
    )
    checks = {"mongodb": mongo, "broker": broker, "s3": s3}
    ready = all(c["status"] == "up" for c in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
    if mongo["status"] == "up":
        # Reported, never a 503: serving runs does not depend on last night's backup.
        try:
            backup = await asyncio.wait_for(backups.verdict(res), timeout=TIMEOUT_S)
            body["backup"] = backup.status
            body["backup_detail"] = backup.model_dump(exclude_none=True)
        except Exception as exc:
            body["backup"] = "unknown"
            body["backup_detail"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return ready, body
