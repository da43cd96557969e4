"""query_api service entry point."""

from __future__ import annotations

import uvicorn

from pitwall.common import metrics
from pitwall.common.settings import Settings
from pitwall.query_api.main import create_app


def run(settings: Settings) -> None:
    metrics.serve(settings, "query_api")  # the internal port; admins also have GET /metrics
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
