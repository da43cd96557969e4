"""The operators' view (admin): queues, which services are alive, the last failures, and
sending a dead-lettered message back; GET /metrics for admins. How health is learnt:
`pitwall.query_api.domain.ops`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from pitwall.common import metrics
from pitwall.query_api.deps import Admin, Res
from pitwall.query_api.domain import ops
from pitwall.query_api.domain.ops import DeadLetterView, OpsOverview
from pitwall.query_api.errors import AUTH, UNAVAILABLE, Error

router = APIRouter(prefix="/api/v1/ops", tags=["ops"], responses=AUTH)
metrics_router = APIRouter(tags=["ops"], responses=AUTH)


@router.get("", response_model=OpsOverview, summary="Queues, services' health, the last failures")
async def overview(res: Res, who: Admin, limit: int = Query(20, ge=1, le=200)) -> OpsOverview:
    """Every queue's depth and consumers, which services are alive (and how that is
    known), the oldest `limit` dead-lettered messages per service with their reasons,
    the last week's failed export jobs, and ingest's outbox backlog."""
    return await ops.overview(res, limit)


@router.post(
    "/dead-letters/{service}/{letter_id}/retry", response_model=DeadLetterView,
    responses={404: {"model": Error, "description": "no such message in that dead-letter queue"}, **UNAVAILABLE},
    summary="Send one dead-lettered message back to its service",
)
async def retry_dead_letter(
    res: Res, who: Admin,
    service: Annotated[str, Path(max_length=64)],
    letter_id: Annotated[str, Path(max_length=200)],
) -> DeadLetterView:
    """Publishes a copy on the service's own queue under its original routing key (with a
    broker confirm), then removes it from the dead-letter queue: a crash in between
    leaves a duplicate, never a loss. Answers the message as it was."""
    return await ops.retry_dead_letter(res, service, letter_id, who)


@metrics_router.get(
    "/metrics", response_class=Response, summary="Prometheus metrics of this query_api process",
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics_text(request: Request, who: Admin) -> Response:
    """For a person with an admin token; Prometheus scrapes PITWALL_METRICS_PORT on the
    internal network instead (no token there, not reachable from outside)."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
