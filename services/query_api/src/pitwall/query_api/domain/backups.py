"""Backups as the backup service recorded them: the list, whether the latest good one is
recent enough (the page's and /readyz's verdict), how much of the catalogue it holds,
and a backup on demand (`backup.due`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from pitwall.common.contracts.documents import BackupDoc
from pitwall.common.db import BACKUP_STALE_INTERVALS
from pitwall.common.events import BackupDue
from pitwall.query_api import readmodel
from pitwall.query_api.models import (
    BackupAccepted,
    BackupCoverage,
    BackupList,
    BackupRequest,
    BackupVerdict,
    BackupView,
)
from pitwall.query_api.publishing import publish
from pitwall.query_api.queries import as_utc
from pitwall.query_api.resources import Resources

DEFAULT_INTERVAL_S = 24 * 3600.0  # before the backup service ever ran: the default daily schedule


def _aware(t: datetime | None) -> datetime | None:
    return as_utc(t) if t is not None else None


def _view(doc: BackupDoc) -> BackupView:
    return BackupView.model_validate({
        **doc, "id": doc["_id"], "started_at": _aware(doc.get("started_at")),
        "finished_at": _aware(doc.get("finished_at")),
    })


async def _latest_good(res: Resources) -> BackupDoc | None:
    found = await readmodel.backups(res).find_one({"status": "completed"}, sort=[("finished_at", -1)])
    return cast("BackupDoc | None", found)


async def verdict(res: Resources, good: BackupDoc | None = None) -> BackupVerdict:
    """Stale when no completed backup is younger than two schedule intervals."""
    latest = cast("BackupDoc | None", await readmodel.backups(res).find_one({}, sort=[("started_at", -1)]))
    good = good or await _latest_good(res)
    interval = float((latest or {}).get("interval_s") or DEFAULT_INTERVAL_S)
    if good is None:
        return BackupVerdict(status="stale", interval_s=interval, reason="no completed backup yet")
    finished = _aware(good.get("finished_at")) or datetime.now(UTC)
    age = (datetime.now(UTC) - finished).total_seconds()
    stale = age > BACKUP_STALE_INTERVALS * interval
    return BackupVerdict(
        status="stale" if stale else "ok", interval_s=interval, latest_good=good["_id"],
        age_s=round(age, 1), drill=good.get("drill"),
        reason=f"the latest good backup is {age / 3600:.1f} h old" if stale else None,
    )


async def coverage(res: Resources, good: BackupDoc | None) -> BackupCoverage:
    """Runs added since the latest good backup *started* count as not backed up: the
    backup read the catalogue some moments after it started, so a run added in between
    may be in it after all; this errs on the side of warning, never of a false "all safe"."""
    summaries = readmodel.summaries(res)  # the slim copy: counting whole run documents costs more
    live: dict[str, Any] = {"deleted": False}
    catalogue = await summaries.count_documents(live)
    if good is None:
        return BackupCoverage(catalogue_runs=catalogue, runs_not_backed_up=catalogue)
    started = _aware(good.get("started_at"))
    newer = (await summaries.count_documents(live | {"ingested_at": {"$gt": started}})
             if started else catalogue)
    return BackupCoverage(catalogue_runs=catalogue, latest_good=good["_id"], backup_runs=good.get("runs"),
                          backup_started_at=started, runs_not_backed_up=newer)


async def listing(res: Resources, limit: int) -> BackupList:
    """The newest `limit` backups with the verdict and coverage of the latest good one."""
    found = await readmodel.backups(res).find({}).sort("started_at", -1).to_list(limit)
    good = await _latest_good(res)
    return BackupList(backups=[_view(cast("BackupDoc", d)) for d in found],
                      verdict=await verdict(res, good), coverage=await coverage(res, good))


async def back_up_now(res: Resources, body: BackupRequest | None) -> BackupAccepted:
    due = BackupDue.on_demand((body or BackupRequest()).with_signals)
    await publish(res, due)
    return BackupAccepted(id=str(due.slot))
