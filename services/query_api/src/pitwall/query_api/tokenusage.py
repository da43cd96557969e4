"""When each token was last used: noted per request in memory, reported to ingest (the
owner of `tokens`) as one `token.used` event a minute, never a write per request."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pitwall.common.events import TokensUsed
from pitwall.common.logging import get_logger
from pitwall.query_api.resources import Resources

log = get_logger(__name__)


class TokenUsage:
    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}

    def seen(self, token_id: str) -> None:
        self._seen[token_id] = datetime.now(UTC)

    def take(self) -> dict[str, datetime]:
        seen, self._seen = self._seen, {}
        return seen

    def put_back(self, seen: dict[str, datetime]) -> None:
        for token_id, at in seen.items():
            self._seen.setdefault(token_id, at)  # a newer use noted meanwhile wins


async def report(res: Resources, usage: TokenUsage) -> None:
    """Every `token_usage_report_s`: publish what was seen since the last report. A
    report the broker does not take is merged back and tried again next time."""
    while True:
        await asyncio.sleep(res.settings.token_usage_report_s)
        await flush(res, usage)


async def flush(res: Resources, usage: TokenUsage) -> None:
    seen = usage.take()
    if not seen:
        return
    try:
        if res.publisher is None:
            raise RuntimeError("broker not connected")
        await res.publisher.publish(TokensUsed(last_used=seen))
    except Exception as exc:
        usage.put_back(seen)
        log.warning("token use not reported", error=str(exc)[:200], tokens=len(seen))
