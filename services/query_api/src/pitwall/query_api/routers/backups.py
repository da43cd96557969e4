"""Backups as the backup service recorded them: the admin page's list and /readyz's verdict."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from pitwall.common.db import BACKUP_STALE_INTERVALS, BACKUPS
from pitwall.query_api import readmodel
from pitwall.query_api.auth import Admin
from pitwall.query_api.deps import Resources, resources
from pitwall.query_api.errors import AUTH
from pitwall.query_api.models import BackupList, BackupVerdict, BackupView
from pitwall.query_api.queries import as_utc

router = APIRouter(prefix="/api/v1", tags=["backups"], responses=AUTH)

Res = Annotated[Resources, Depends(resources)]
DEFAULT_INTERVAL_S = 24 * 3600.0  # before the backup service ever ran: the default daily schedule


def _aware(t: datetime | None) -> datetime | None:
    return as_utc(t) if t is not None else None


def _view(doc: dict[str, Any]) -> BackupView:
    return BackupView.model_validate({**doc, "id": doc["_id"], "started_at": _aware(doc.get("started_at")),
                                      "finished_at": _aware(doc.get("finished_at"))})


async def verdict(res: Resources) -> BackupVerdict:
    """Stale when no completed backup is younger than two schedule intervals."""
    coll = readmodel.database(res)[BACKUPS]
    latest = await coll.find_one({}, sort=[("started_at", -1)])
    good = await coll.find_one({"status": "completed"}, sort=[("finished_at", -1)])
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


@router.get("/backups", response_model=BackupList, summary="Backups, newest first, and whether one is stale")
async def list_backups(res: Res, who: Admin, limit: int = Query(50, ge=1, le=500)) -> BackupList:
    """What the backup service made or tried: status, size, runs, objects copied, the
    restore drill's verdict; `verdict` says whether the latest good one is recent enough."""
    docs = await readmodel.database(res)[BACKUPS].find({}).sort("started_at", -1).to_list(limit)
    return BackupList(backups=[_view(d) for d in docs], verdict=await verdict(res))
