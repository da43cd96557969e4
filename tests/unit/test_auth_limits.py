"""The wrong-token limiter and token durations, on a clock the test moves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pitwall.common.apitokens import parse_duration
from pitwall.query_api import limiter as limiter_module
from pitwall.query_api.limiter import FailureLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(limiter_module.time, "monotonic", c)
    return c


def test_distinct_wrong_tokens_lock_out_for_the_window(clock: Clock) -> None:
    lim = FailureLimiter(max_failures=3, window_s=60)
    assert lim.failed("a", "h1") is None and lim.failed("a", "h1") is None  # the same token: one failure
    assert lim.failed("a", "h2") is None
    assert lim.failed("a", "h3") == 60
    assert lim.retry_after("a") == 60 and lim.retry_after("b") is None
    clock.now += 59.5
    assert lim.retry_after("a") == 1
    lim.succeeded("a")  # a right token while locked out is never looked up; nothing changes
    assert lim.retry_after("a") == 1
    clock.now += 0.5
    assert lim.retry_after("a") is None
    assert lim.failed("a", "h4") is None  # a clean slate after the lock-out


def test_failures_older_than_the_window_are_forgotten(clock: Clock) -> None:
    lim = FailureLimiter(max_failures=3, window_s=10)
    lim.failed("a", "h1")
    lim.failed("a", "h2")
    clock.now += 11
    assert lim.failed("a", "h3") is None
    assert lim.failed("a", "h4") is None
    assert lim.failed("a", "h5") == 10


def test_success_forgets_and_memory_is_bounded(clock: Clock) -> None:
    lim = FailureLimiter(max_failures=2, window_s=10, max_clients=100)
    lim.failed("a", "h1")
    lim.succeeded("a")
    assert lim.failed("a", "h2") is None
    for i in range(1000):
        lim.failed(f"client-{i}", "h")
    assert len(lim._clients) == 100 and "client-999" in lim._clients


@pytest.mark.parametrize(("text", "seconds"),
                         [("90m", 5400), ("12h", 43200), ("30d", 30 * 86400), ("2w", 14 * 86400), (" 1d ", 86400)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "0d", "-1d", "1y", "1.5d", "d", "30 days"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="90m, 12h, 30d or 2w"):
        parse_duration(text)
