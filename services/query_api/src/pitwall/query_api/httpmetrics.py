"""HTTP latency per route template (`/api/v1/runs/{run_id}`), never per raw path: one
series per route, method and status however many runs there are, and a scanner's
random paths all land in one `<unmatched>` series.

Latency is the time to the response's headers: a download or an event stream would
otherwise measure the client's patience, not the server.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pitwall.common import metrics

SERVICE = "query_api"
UNMATCHED = "<unmatched>"


class LatencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observed = False

        def observe(status: int) -> None:
            nonlocal observed
            if observed:
                return
            observed = True
            # The router writes the matched route into the scope it was given (this one).
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            metrics.HTTP_SECONDS.labels(
                service=SERVICE, method=scope.get("method", "GET"), route=route, status=str(status),
            ).observe(time.perf_counter() - started)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                observe(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            observe(500)
            raise
