"""The one way tests wait: poll a condition until it holds, or fail saying what did not happen.

A fixed sleep is either too short on a busy machine (a flaky test) or too long everywhere
(a slow suite); a condition is as fast as the system and as patient as `timeout`.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str, timeout: float = 60.0, every: float = 0.1) -> T:
    """Call `condition` until its value is truthy and return that value.

    Fails (AssertionError, naming `what`) after `timeout` seconds. An exception raised by
    `condition` is not swallowed: a check that breaks is a failure, not a "not yet".
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last value: {value!r})")
        time.sleep(every)


async def wait_for_async(
    condition: Callable[[], Awaitable[T]] | Callable[[], T], what: str, timeout: float = 60.0, every: float = 0.1
) -> T:
    """`wait_for` for async tests: `condition` may be a coroutine function; the loop keeps running."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last value: {value!r})")
        await asyncio.sleep(every)

