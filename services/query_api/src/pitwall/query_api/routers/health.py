"""Liveness and readiness: /readyz checks each dependency and says which one is down."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from pitwall.query_api.deps import Res
from pitwall.query_api.domain.readiness import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(res: Res) -> JSONResponse:
    ready, body = await readiness(res)
    return JSONResponse(body, status_code=200 if ready else 503)
