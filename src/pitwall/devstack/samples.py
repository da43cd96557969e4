"""Sample runs for the dev stack, loaded by `pitwall dev up` once the services are ready.

Called from a background thread of the supervisor; must be idempotent (every `dev up`
calls it) and may raise: the supervisor reports the error and keeps the stack running.
"""

from __future__ import annotations

from pitwall.common.settings import Settings


def load_samples(settings: Settings) -> None:
    """Put a few realistic runs into the stack (not written yet: does nothing)."""
    return None
