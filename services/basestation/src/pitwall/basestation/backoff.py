"""Capped exponential back-off with jitter: a flaky uplink is not hammered in step."""

from __future__ import annotations

import random


def backoff_s(attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Seconds before try number `attempt + 1` ("equal jitter": between half and all of the step)."""
    step = min(cap_s, base_s * (2 ** max(0, min(attempt, 30))))
    return step / 2 + (rng or random).uniform(0, step / 2)


class Backoff:
    """One back-off schedule: grows on failure, resets on success."""

    def __init__(self, base_s: float, cap_s: float) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0

    def failed(self) -> float:
        delay = backoff_s(self.failures, self.base_s, self.cap_s)
        self.failures += 1
        return delay

    def succeeded(self) -> None:
        self.failures = 0
