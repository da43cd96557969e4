"""Publishing the gateway's requests (run commands, uploads, exports) on the bus."""

from __future__ import annotations

from pitwall.common.events import Event
from pitwall.query_api.errors import unavailable
from pitwall.query_api.resources import Resources


async def publish(res: Resources, event: Event) -> None:
    """Publish with a broker confirm; 503 when the broker is away (nothing was changed)."""
    if res.publisher is None:
        raise unavailable("the message broker is not reachable yet; try again in a few seconds")
    try:
        await res.publisher.publish(event)
    except Exception as exc:
        raise unavailable(f"the message broker did not confirm the request ({type(exc).__name__}); try again") from exc
