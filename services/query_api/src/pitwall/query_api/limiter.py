"""Guessing tokens is slowed per client: after a burst of wrong tokens, 429 for a while.

A client (its IP as uvicorn reports it, i.e. after trusted `X-Forwarded-For`) that
presents `max_failures` *different* wrong tokens within `window_s` is refused for
`window_s` seconds, with `Retry-After`, before its token is even looked up, so the
refusal says nothing about whether the next guess was right. Counting distinct tokens,
not requests, keeps an honest page that repeats one stale cookie on every call from
locking itself (or a whole track-side NAT) out; a guesser needs a new token per try.

The state is in this process's memory: one query_api process per host, so the limit is
per process (with N replicas behind a balancer a client gets up to N times the budget).
Memory is bounded: at most `max_clients` clients are remembered, the least recently
seen forgotten first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from pitwall.common.logging import get_logger

log = get_logger(__name__)
MAX_CLIENTS = 10_000


@dataclass(slots=True)
class _Client:
    failures: OrderedDict[str, float] = field(default_factory=OrderedDict)  # token hash -> last failure
    blocked_until: float = 0.0


class FailureLimiter:
    def __init__(self, max_failures: int, window_s: float, max_clients: int = MAX_CLIENTS) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_clients = max_clients
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until `client` may try again, or None when it may now."""
        state = self._clients.get(client)
        if state is None:
            return None
        now = time.monotonic()
        if state.blocked_until > now:
            return max(1, math.ceil(state.blocked_until - now))
        if state.blocked_until:
            # The lock-out is over: the client starts again with a clean slate.
            del self._clients[client]
        return None

    def failed(self, client: str, token_hash: str) -> int | None:
        """Count a wrong token; returns the lock-out in seconds when this one started it."""
        now = time.monotonic()
        state = self._clients.pop(client, None) or _Client()
        self._clients[client] = state  # most recently seen last
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)
        state.failures.pop(token_hash, None)
        state.failures[token_hash] = now
        while state.failures and next(iter(state.failures.values())) <= now - self.window_s:
            state.failures.popitem(last=False)
        if len(state.failures) < self.max_failures:
            return None
        state.blocked_until = now + self.window_s
        state.failures.clear()
        log.warning(
            "too many wrong tokens: client locked out", client=client,
            failures=self.max_failures, window_s=self.window_s, retry_after_s=math.ceil(self.window_s),
        )
        return max(1, math.ceil(self.window_s))

    def succeeded(self, client: str) -> None:
        """A good token: the client's earlier failures are forgotten."""
        state = self._clients.get(client)
        if state is not None and state.blocked_until <= time.monotonic():
            del self._clients[client]
