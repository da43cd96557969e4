"""The FastAPI application: the only public entry point (API + web page)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from pitwall.common import db
from pitwall.common.broker import Publisher, connect
from pitwall.common.logging import get_logger
from pitwall.common.settings import Settings, get_settings
from pitwall.common.storage import ObjectStore
from pitwall.query_api import openapidoc, tokenusage
from pitwall.query_api.auth import TokenCache
from pitwall.query_api.deps import Resources
from pitwall.query_api.domain.ops import refresh_queue_metrics as queue_metrics
from pitwall.query_api.httpmetrics import LatencyMiddleware
from pitwall.query_api.middleware import install as install_middleware
from pitwall.query_api.middleware import reject_repeated_parameters
from pitwall.query_api.routers import (
    backups,
    catalogue,
    compare,
    events,
    exports,
    health,
    mathchannels,
    ops,
    resumable,
    runs,
    session,
    signals,
    stations,
    tokens,
    uploads,
    web,
)
from pitwall.query_api.tokenusage import TokenUsage

log = get_logger(__name__)


async def _connect_broker(res: Resources) -> None:
    # The gateway starts even when RabbitMQ is down (readyz says so); connect_robust
    # then keeps the connection alive once made.
    delay = 0.5
    while True:
        try:
            res.amqp = await connect(res.settings, name="query_api")
            res.publisher = await Publisher.open(res.amqp, res.settings)
            log.info("broker connected")
            return
        except Exception as exc:
            log.warning("broker not ready", error=str(exc)[:200], retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def _ensure_buckets(res: Resources) -> None:
    # Uploads land in the MCAP bucket even before ingest (which also creates them) ran.
    delay = 0.5
    while True:
        try:
            await asyncio.to_thread(res.store.ensure_buckets)
            return
        except Exception as exc:
            log.warning("s3 not ready", error=str(exc)[:200], retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        res = Resources(settings=settings, mongo=db.make_client(settings), store=ObjectStore(settings))
        app.state.resources = res
        app.state.token_cache = TokenCache()
        app.state.token_usage = usage = TokenUsage()
        tasks = [asyncio.create_task(_connect_broker(res)), asyncio.create_task(_ensure_buckets(res)),
                 asyncio.create_task(queue_metrics(res)), asyncio.create_task(tokenusage.report(res, usage))]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await tokenusage.flush(res, usage)
            if res.amqp is not None:
                await res.amqp.close()
            await res.mongo.close()

    app = FastAPI(
        dependencies=[Depends(reject_repeated_parameters)],
        title="pitwall",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own pages load Swagger UI / ReDoc from a CDN (blank without internet)
        # and start with an inline script: /docs is served from our files (routers/web.py).
        docs_url=None,
        redoc_url=None,
        description="Find runs, look at them, export exactly what you need, upload. "
        "Every endpoint but /healthz, /readyz and POST /api/v1/session needs a token "
        "(`Authorization: Bearer <token>`, or the cookie the web page gets at log-in).",
    )
    install_middleware(app)
    openapidoc.install(app, settings)
    app.add_middleware(LatencyMiddleware)  # outermost: it times the others too
    app.include_router(health.router)
    # resumable before runs: POST /runs/lookup is a fixed path beside /runs/{run_id}.
    for module in (session, resumable, runs, events, signals, compare, uploads, exports, stations, backups, tokens,
                   catalogue, mathchannels, ops):
        app.include_router(module.router)
    app.include_router(ops.metrics_router)
    app.include_router(web.router)

    return app
