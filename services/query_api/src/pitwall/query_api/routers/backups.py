"""Backups as the backup service recorded them: the admin page's list, /readyz's verdict,
how much of the catalogue the latest good backup holds, and a backup on demand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from pitwall.common.contracts.mongo import BACKUPS
from pitwall.common.db import BACKUP_STALE_INTERVALS
from pitwall.common.events import BackupDue
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Admin
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE
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

router = APIRouter(prefix="/api/v1", tags=["backups"], responses=AUTH)

Res = Annotated[Resources, Depends(resources)]
DEFAULT_INTERVAL_S = 24 * 3600.0  # before the backup service ever ran: the default daily schedule


def _aware(t: datetime | None) -> datetime | None:
    return as_utc(t) if t is not None else None


def _view(doc: dict[str, Any]) -> BackupView:
    return BackupView.model_validate({**doc, "id": doc["_id"], "started_at": _aware(doc.get("started_at")),
                                      "finished_at": _aware(doc.get("finished_at"))})


async def _latest_good(res: Resources) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await readmodel.database(res)[BACKUPS].find_one(
        {"status": "completed"}, sort=[("finished_at", -1)])
    return found


async def verdict(res: Resources, good: dict[str, Any] | None = None) -> BackupVerdict:
    """Stale when no completed backup is younger than two schedule intervals."""
    coll = readmodel.database(res)[BACKUPS]
    latest = await coll.find_one({}, sort=[("started_at", -1)])
    good = good or await _latest_good(res)
    interval = float((latest or {}).get("interval_s") or DEFAULT_INTERVAL_S)
    if good is None:
        return BackupVerdict(status="stale", interval_s=interval, reason="no completed backup yet")
    finished = _aware(good.get("finished_at")) or datetime.now(UTC)
    age = (datetime.now(UTC) - finished).total_seconds()
    stale = age > BACKUP_STALE_INTERVALS * interval
    drill = good.get("drill")
    return BackupVerdict(
        status="stale" if stale else "ok", interval_s=interval, latest_good=good["_id"], age_s=round(age, 1),
        drill=drill, reason=f"the latest good backup is {age / 3600:.1f} h old" if stale else None,
    )


async def coverage(res: Resources, good: dict[str, Any] | None) -> BackupCoverage:
    """Runs added since the latest good backup *started* count as not backed up: the
    backup read the catalogue some moments after it started, so a run added in between
    may be in it after all; this errs on the side of warning, never of a false "all safe"."""
    summaries = readmodel.summaries(res)  # the slim copy: counting whole run documents costs more
    live: dict[str, Any] = {"deleted": False}
    catalogue = await summaries.count_documents(live)
    if good is None:
        return BackupCoverage(catalogue_runs=catalogue, runs_not_backed_up=catalogue)
    started = _aware(good.get("started_at"))
    newer = await summaries.count_documents(live | {"ingested_at": {"$gt": started}}) if started else catalogue
    return BackupCoverage(catalogue_runs=catalogue, latest_good=good["_id"], backup_runs=good.get("runs"),
                          backup_started_at=started, runs_not_backed_up=newer)


@router.get("/backups", response_model=BackupList, summary="Backups, newest first, and whether one is stale")
async def list_backups(res: Res, who: Admin, limit: int = Query(50, ge=1, le=500)) -> BackupList:
    """What the backup service made or tried: status, size, runs, objects copied, the
    restore drill's verdict; `verdict` says whether the latest good one is recent enough,
    `coverage` how many runs it holds against the catalogue and how many it lacks."""
    docs = await readmodel.database(res)[BACKUPS].find({}).sort("started_at", -1).to_list(limit)
    good = await _latest_good(res)
    return BackupList(backups=[_view(d) for d in docs], verdict=await verdict(res, good),
                      coverage=await coverage(res, good))


@router.post("/backups", response_model=BackupAccepted, status_code=status.HTTP_202_ACCEPTED,
             responses={**INVALID, **UNAVAILABLE}, summary="Back up now")
async def back_up_now(res: Res, who: Admin, body: BackupRequest | None = None) -> BackupAccepted:
    """Asks the backup service for a backup now (what `pitwall backup now` does); it is
    listed by GET /backups, `running` then `completed` or `failed`, once the service takes it."""
    due = BackupDue.on_demand((body or BackupRequest()).with_signals)
    await publish(res, due)
    return BackupAccepted(id=str(due.slot))
