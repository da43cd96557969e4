"""query_api's math-channel commands, applied to `math_channels` (ingest owns it).

Versioned and audited: each change raises the channel's version and pushes who, when, what
it set and what was there before onto its history; a delete is soft (the history stays). The
expression is checked again here (a hand-made event must not store what the API refuses).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from pitwall.common.broker import PermanentError
from pitwall.common.contracts import mongo
from pitwall.common.events import MathCommand
from pitwall.common.logging import get_logger
from pitwall.common.mathchannels import MathError, check_definitions, parse

log = get_logger(__name__)

FIELDS = ("expression", "unit", "description")


async def apply_command(db: AsyncDatabase[dict[str, Any]], cmd: MathCommand) -> None:
    channels = db[mongo.MATH_CHANNELS]
    now = datetime.now(UTC)
    before = await channels.find_one({"_id": cmd.channel}) or {}
    if any(h.get("event_id") == cmd.event_id for h in before.get("history") or []):
        return  # a redelivered command
    if cmd.action == "delete":
        if not before or before.get("deleted"):
            return
        sets: dict[str, Any] = {"deleted": True, "deleted_at": now, "deleted_by": cmd.actor}
        changes: dict[str, Any] = {}
    else:
        if cmd.expression is None:
            raise PermanentError(f"{cmd.action} of math:{cmd.channel} without an expression")
        live = {d["_id"]: parse(d["expression"]) async for d in channels.find({"deleted": {"$ne": True}})
                if d["_id"] != cmd.channel}
        try:
            check_definitions({**live, cmd.channel: parse(cmd.expression)})
        except MathError as exc:
            raise PermanentError(f"math:{cmd.channel}: {exc}") from None
        changes = {f: getattr(cmd, f) for f in FIELDS}
        sets = {**changes, "deleted": False, "updated_at": now, "updated_by": cmd.actor}
        if not before or before.get("deleted"):
            sets |= {"created_at": now, "created_by": cmd.actor}
    audit = {"action": cmd.action, "actor": cmd.actor, "at": now, "event_id": cmd.event_id, "changes": changes,
             "before": {f: before.get(f) for f in FIELDS if before}}
    await channels.update_one({"_id": cmd.channel},
                              {"$set": sets, "$inc": {"version": 1}, "$push": {"history": audit}}, upsert=True)
    log.info("math channel", action=cmd.action, channel=cmd.channel, by=cmd.actor)
