"""Building blocks for topic columns: the sampling context and small signal recipes.

A recipe is a function of the context (sample times, the topic's own random stream, the
vehicle state) returning one value per message. Values are plain numpy arrays except
strings (`Strings`), repeated fields of varying length (`RowLists`) and sub-messages that
are missing from some messages (`Presence`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from pitwall.synth.vehicle import VehicleState


@dataclass(frozen=True, slots=True)
class Strings:
    table: list[str]
    codes: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RowLists:
    """Row i holds flat[sum(counts[:i]) : sum(counts[:i+1])]."""

    flat: npt.NDArray[np.generic]
    counts: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Presence:
    """Rows where a sub-message is written at all (absent rows decode as defaults)."""

    mask: npt.NDArray[np.bool_]


Column = npt.NDArray[np.generic] | Strings | RowLists | Presence


@dataclass(slots=True)
class Ctx:
    t: npt.NDArray[np.float64]  # seconds since the recording started, one per message
    rng: np.random.Generator
    vehicle: VehicleState
    duration_s: float
    start_ns: int  # recording start, ns since the Unix epoch
    info: dict[str, str]  # facts shared by topics (firmware version, ...)
    _cache: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.t.shape[0])

    def st(self, name: str) -> npt.NDArray[np.float64]:
        """A vehicle-state signal at this topic's sample times (cached per topic)."""
        if name not in self._cache:
            self._cache[name] = self.vehicle.at(name, self.t)
        return self._cache[name]

    def noise(self, sigma: float, shape: tuple[int, ...] | None = None) -> npt.NDArray[np.float64]:
        if sigma == 0:
            return np.zeros(shape or (self.n,))
        return self.rng.normal(0.0, sigma, shape or (self.n,))

    def wander(self, amp: float, period_s: float = 60.0) -> npt.NDArray[np.float64]:
        """A smooth zero-mean drift: a few slow sinusoids of random phase."""
        out = np.zeros(self.n)
        for _ in range(3):
            period = period_s * float(self.rng.uniform(0.5, 2.0))
            out += np.sin(2 * math.pi * self.t / period + float(self.rng.uniform(0, 2 * math.pi)))
        return amp * out / 3.0


Recipe = Callable[[Ctx], Column]


def st(
    name: str, scale: float = 1.0, offset: float = 0.0, noise: float = 0.0, wheel: int | None = None
) -> Recipe:
    def f(c: Ctx) -> Column:
        base = c.st(name)
        if wheel is not None:
            base = base[:, wheel]
        return base * scale + offset + c.noise(noise)

    return f


def const(value: float) -> Recipe:
    return lambda c: np.full(c.n, value)


def wander(center: float, amp: float, noise: float = 0.0, period_s: float = 60.0) -> Recipe:
    return lambda c: center + c.wander(amp, period_s) + c.noise(noise)


def flag(fraction_on: float) -> Recipe:
    """A boolean that is on for stretches, about `fraction_on` of the time."""

    def f(c: Ctx) -> Column:
        if fraction_on <= 0:
            return np.zeros(c.n, dtype=bool)
        if fraction_on >= 1:
            return np.ones(c.n, dtype=bool)
        level = c.wander(1.0, 20.0)
        return level > np.quantile(level, 1 - fraction_on) if c.n else np.zeros(0, dtype=bool)

    return f


def ready(after_state: int) -> Recipe:
    """True once the car's state machine has reached `after_state`."""
    return lambda c: c.st("car_state") >= after_state


def counter(modulo: int = 0) -> Recipe:
    def f(c: Ctx) -> Column:
        i = np.arange(c.n, dtype=np.int64)
        return i % modulo if modulo else i

    return f


def integral(name: str, scale: float = 1.0, wheel: int | None = None) -> Recipe:
    """Running integral over time of a vehicle signal (energy from power, ...)."""

    def f(c: Ctx) -> Column:
        v = c.vehicle
        base = v.signals[name] if wheel is None else v.signals[name][:, wheel]
        dt = np.diff(v.t, prepend=v.t[0])
        return np.interp(c.t, v.t, np.cumsum(base * dt)) * scale

    return f
