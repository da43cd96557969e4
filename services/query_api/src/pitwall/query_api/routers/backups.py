"""Backups as the backup service recorded them: the admin page's list, how much of the
catalogue the latest good backup holds, and a backup on demand."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from pitwall.query_api.deps import Admin, Res
from pitwall.query_api.domain import backups
from pitwall.query_api.errors import AUTH, INVALID, UNAVAILABLE
from pitwall.query_api.models import BackupAccepted, BackupList, BackupRequest

router = APIRouter(prefix="/api/v1", tags=["backups"], responses=AUTH)


@router.get("/backups", response_model=BackupList, summary="Backups, newest first, and whether one is stale")
async def list_backups(res: Res, who: Admin, limit: int = Query(50, ge=1, le=500)) -> BackupList:
    """What the backup service made or tried: status, size, runs, objects copied, the
    restore drill's verdict; `verdict` says whether the latest good one is recent enough,
    `coverage` how many runs it holds against the catalogue and how many it lacks."""
    return await backups.listing(res, limit)


@router.post("/backups", response_model=BackupAccepted, status_code=status.HTTP_202_ACCEPTED,
             responses={**INVALID, **UNAVAILABLE}, summary="Back up now")
async def back_up_now(res: Res, who: Admin, body: BackupRequest | None = None) -> BackupAccepted:
    """Asks the backup service for a backup now (what `pitwall backup now` does); it is
    listed by GET /backups, `running` then `completed` or `failed`, once the service takes it."""
    return await backups.back_up_now(res, body)
