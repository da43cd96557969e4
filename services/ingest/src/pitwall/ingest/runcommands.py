"""Run commands from query_api: edit, soft delete, restore, add and remove events.
Nothing is lost by one click: every command is in the run's history.

A history entry: {action, actor, at, changes, event_id, before}. `changes` is what the
command set; `before` what those fields were (setup fields, tags) or the event a
remove_event took away, so the page can say "setup.driver: Adam → Ben" or "tags: +wet −dry"
without keeping every earlier version of the run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from pitwall.common.broker import PermanentError
from pitwall.common.contracts.searchwords import word_set
from pitwall.common.events import RunCommand
from pitwall.common.runevents import RunEvent
from pitwall.ingest.setup import SETUP_FIELDS

EDITABLE = {"notes", "tags"}


async def apply_command(runs: AsyncCollection[dict[str, Any]], cmd: RunCommand) -> None:
    now = datetime.now(UTC)
    run = await runs.find_one({"_id": cmd.run_id}, {"filename": 1, "setup": 1, "notes": 1, "tags": 1, "events": 1})
    if run is None:
        raise PermanentError(f"no run {cmd.run_id}")
    audit = {"action": cmd.action, "actor": cmd.actor, "at": now, "changes": cmd.changes, "event_id": cmd.event_id}
    if cmd.action == "delete":
        update: dict[str, Any] = {
            "$set": {"deleted": True, "deleted_at": now, "deleted_by": cmd.actor, "updated_at": now}
        }
    elif cmd.action == "restore":
        update = {"$set": {"deleted": False, "deleted_at": None, "updated_at": now}}
    elif cmd.action == "add_event":
        try:
            event = RunEvent.model_validate(cmd.changes)
        except ValueError as exc:
            raise PermanentError(f"not an event: {exc}") from None
        # Keyed by the event's id too: the same event sent twice (a retried request) is one event.
        await runs.update_one(
            {"_id": cmd.run_id, "history.event_id": {"$ne": cmd.event_id}, "events.id": {"$ne": event.id}},
            {"$set": {"updated_at": now}, "$push": {"events": event.doc(), "history": audit}},
        )
        return
    elif cmd.action == "remove_event":
        event_id = str(cmd.changes.get("id"))
        gone = next((e for e in run.get("events") or [] if e.get("id") == event_id), None)
        if gone is not None:
            audit["before"] = {"event": {k: gone.get(k) for k in ("kind", "start_s", "end_s", "note")}}
        update = {"$set": {"updated_at": now}, "$pull": {"events": {"id": event_id}}}
    else:
        sets: dict[str, Any] = {"updated_at": now}
        for key, value in cmd.changes.items():
            if key == "setup" and isinstance(value, dict):
                for field, v in value.items():
                    if field in SETUP_FIELDS:
                        sets[f"setup.{field}"] = v
            elif key == "tags":
                sets["tags"] = sorted({str(t).strip() for t in value or [] if str(t).strip()})
            elif key in EDITABLE:
                sets[key] = value
        setup = dict(run.get("setup") or {})
        setup.update({k.split(".", 1)[1]: v for k, v in sets.items() if k.startswith("setup.")})
        notes = sets.get("notes", run.get("notes"))
        sets["search"] = word_set(run.get("filename"), notes, *(v for v in setup.values() if isinstance(v, str)))
        audit["before"] = _before(run, sets)
        update = {"$set": sets}
    # The audit entry keyed by event id makes a redelivered command a no-op.
    update["$push"] = {"history": audit}
    await runs.update_one({"_id": cmd.run_id, "history.event_id": {"$ne": cmd.event_id}}, update)


def _before(run: dict[str, Any], sets: dict[str, Any]) -> dict[str, Any]:
    """The values an edit replaces: the changed setup fields and the tags (notes are long and
    the page only says that they changed)."""
    before: dict[str, Any] = {}
    setup = run.get("setup") or {}
    fields = {k.split(".", 1)[1]: setup.get(k.split(".", 1)[1]) for k in sets if k.startswith("setup.")}
    if fields:
        before["setup"] = fields
    if "tags" in sets:
        before["tags"] = list(run.get("tags") or [])
    return before
