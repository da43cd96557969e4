"""Retention over a simulated 400-day calendar: exactly the expected backups are kept,
and pruning a real backup folder never removes an object a kept backup names."""

from __future__ import annotations

import calendar
import random
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pitwall.backupkit.core import keep_set, list_backups, prune
from pitwall.backupkit.manifest import Manifest
from pitwall.backupkit.target import open_target
from pitwall.common.settings import Settings

LAST = date(2026, 12, 6)


def daily_backups(days: int, extra: int = 0, seed: int = 3) -> dict[str, datetime]:
    """One backup a day at 03:00, plus `extra` on-demand ones later on random days."""
    out = {f"d{d:%Y%m%d}": datetime(d.year, d.month, d.day, 3, tzinfo=UTC)
           for d in (LAST - timedelta(days=i) for i in range(days))}
    rng = random.Random(seed)
    for i in range(extra):
        d = LAST - timedelta(days=rng.randrange(days))
        out[f"now{i}"] = datetime(d.year, d.month, d.day, 15, i % 60, tzinfo=UTC)
    return out


def newest_on(created: dict[str, datetime], day: date) -> str:
    return max((b for b, t in created.items() if t.date() == day), key=lambda b: created[b])


def test_400_days_keep_exactly_7_daily_4_weekly_12_monthly() -> None:
    created = daily_backups(400, extra=25)
    days = {LAST - timedelta(days=i) for i in range(7)}
    sunday = LAST + timedelta(days=6 - LAST.weekday())
    days |= {min(LAST, sunday - timedelta(weeks=k)) for k in range(4)}
    y, m = LAST.year, LAST.month
    for _ in range(12):
        days.add(min(LAST, date(y, m, calendar.monthrange(y, m)[1])))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    expected = {newest_on(created, d) for d in days}
    assert keep_set(created, 7, 4, 12) == expected
    assert len(expected) == len(days) <= 7 + 4 + 12
    assert keep_set(created, 0, 0, 0) == set()


def test_a_gap_in_the_calendar_keeps_older_backups_instead() -> None:
    # The team was away for three weeks: "7 daily" means the 7 latest days that have one.
    created = {b: t for b, t in daily_backups(60).items() if not 5 <= (LAST - t.date()).days < 26}
    kept = keep_set(created, 7, 0, 0)
    assert sorted(created[b].date() for b in kept) == sorted(
        [LAST - timedelta(days=i) for i in range(5)] + [LAST - timedelta(days=26), LAST - timedelta(days=27)])


@pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed (scripts/ensure-restic.sh)")
def test_prune_removes_only_what_no_kept_backup_names(tmp_path: Path) -> None:
    settings = Settings(backup_password="k", backup_keep_daily=3, backup_keep_weekly=2, backup_keep_monthly=2)
    target = open_target(settings, f"file://{tmp_path / 'bk'}")
    target.area.ensure()
    from pitwall.backupkit.core import restic_for

    restic_for(settings, target).ensure()
    created = daily_backups(70)
    # Day k adds object k; a run deleted later drops out of the backups after it.
    order = sorted(created, key=lambda b: created[b])
    for k, b in enumerate(order):
        target.area.write_bytes(f"mcap/{k:064x}.mcap", b"x" * (k + 1))
        objects = {f"mcap/{j:064x}.mcap": j + 1 for j in range(k + 1) if j % 10 != 0 or k - j < 4}
        m = Manifest(id=b, created_at=created[b].isoformat(), version="test", database="pitwall",
                     snapshot=f"{k:08x}", collections={}, objects=objects, runs=len(objects))
        target.area.write_bytes(m.key, m.to_json())

    report = prune(settings, target)

    kept = keep_set(created, 3, 2, 2)
    assert set(report.kept) == kept and set(report.removed) == set(order) - kept
    assert {m.id for m in list_backups(target)} == kept
    manifests = {m.id: m for m in list_backups(target)}
    still = set(target.area.keys("mcap/"))
    referenced = {key for m in manifests.values() for key in m.objects}
    assert referenced <= still  # never an object a kept backup names
    assert still == referenced  # and every other one is gone
    assert report.objects_removed == len(order) - len(still)
    # Whatever the settings say, the newest backup stays.
    lone = prune(settings.model_copy(update={"backup_keep_daily": 0, "backup_keep_weekly": 0,
                                             "backup_keep_monthly": 0}), target)
    assert lone.kept == [order[-1]]
    assert set(target.area.keys("mcap/")) == set(manifests[order[-1]].objects)
