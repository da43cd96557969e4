"""What can go wrong with a math channel, as exceptions a caller can tell apart.

`MathError` is a fault of the expression or of the set of definitions (the API answers it
with 422 and stores nothing). `Unavailable`, a subclass, is a fault of one run: the run
lacks a referenced signal, the signal has no state of that name, the run has no laps. The
channel is then absent for that run, listed with `str(exc)` as the reason.
"""

from __future__ import annotations

_MAX_PROBLEM = 300


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_PROBLEM else flat[: _MAX_PROBLEM - 3] + "..."


class MathError(ValueError):
    """An expression that cannot be used, with the 0-based character index at fault.

    `str(exc)` is one line: the problem, then `at position N` when a position is known.
    """

    def __init__(self, problem: str, position: int | None = None) -> None:
        self.problem = _one_line(problem)
        self.position = position
        super().__init__(self.problem if position is None else f"{self.problem} at position {position}")


class Unavailable(MathError):
    """The expression is sound, but this run cannot give the channel (the reason is the message)."""


class MissingSignal(Unavailable):
    """A referenced signal is not in the run (`key` is the raw `topic:path` that is missing)."""

    def __init__(self, key: str, position: int | None = None, via: str | None = None) -> None:
        self.key = key
        self.via = via
        used = f" (used by [{via}])" if via else ""
        super().__init__(f"the run has no signal [{key}]{used}", position)
