"""When backups are due: a cron expression (croniter), slots named so that two schedulers agree."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter


class BadSchedule(ValueError):
    pass


def _local(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone()  # cron is read in the machine's local time


def validate(cron: str) -> str:
    if not croniter.is_valid(cron):
        raise BadSchedule(f"PITWALL_BACKUP_SCHEDULE {cron!r} is not a cron expression (e.g. '0 3 * * *')")
    return cron


def last_slot(cron: str, now: datetime | None = None) -> datetime:
    """The latest slot at or before `now`."""
    now = _local(now)
    it = croniter(validate(cron), now)
    nxt = it.get_next(datetime)
    if nxt == now:
        return nxt
    return croniter(cron, now).get_prev(datetime)


def next_slot(cron: str, now: datetime | None = None) -> datetime:
    return croniter(validate(cron), _local(now)).get_next(datetime)


def interval_s(cron: str, now: datetime | None = None) -> float:
    """Seconds between two slots around now (for "stale": no good backup in two of them)."""
    a = last_slot(cron, now)
    return (croniter(cron, a).get_next(datetime) - a).total_seconds()


def slot_id(slot: datetime) -> str:
    """The backup id of a slot, the same on every machine: UTC, minute resolution."""
    return slot.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def slot_event_id(slot: datetime) -> str:
    return f"backup.due.{slot_id(slot)}"
