"""The alignment rule: which times a math channel has, and each signal's value at them.

Exactly, so that anyone can reproduce a value: the time base is the referenced signal with
the most samples in the window (ties: the one referenced first in the text); every other
signal is interpolated at those times, linearly for floating-point signals and holding the
last value (the last sample at or before the time) for integer, boolean and state signals,
and is NaN before its own first sample and after its own last one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pitwall.common.mathchannels.errors import Unavailable

LINEAR_KINDS = frozenset({"double", "single"})
HOLD_KINDS = frozenset({"int32", "uint32", "int64", "uint64", "logical", "enum"})


@dataclass(frozen=True, slots=True, eq=False)
class Series:
    """One signal as the run holds it: times in seconds, values, pitwall's column kind, and
    the names of its states ({code: name}) when it has them."""

    t: np.ndarray
    v: np.ndarray
    kind: str
    states: Mapping[int, str] | None = None

    @property
    def holds(self) -> bool:
        """Held (step) rather than linearly interpolated between samples."""
        return self.kind in HOLD_KINDS or bool(self.states)


def prepare(key: str, series: Series, start: float | None, end: float | None) -> Series:
    """The samples within [start, end], in time order, values as float64."""
    if series.kind not in LINEAR_KINDS and series.kind not in HOLD_KINDS:
        if series.kind == "string":
            raise Unavailable(f"[{key}] holds text, not numbers")
        raise Unavailable(f"[{key}] is of an unknown kind {series.kind!r}")
    t = np.asarray(series.t, dtype=np.float64)
    v = np.asarray(series.v)
    if t.ndim != 1 or v.shape != t.shape:
        raise Unavailable(f"[{key}] is not one value per time (an array field names one element, [{key}[0]])")
    keep = np.ones(t.shape, dtype=bool)
    if start is not None:
        keep &= t >= start
    if end is not None:
        keep &= t <= end
    if not keep.all():
        t, v = t[keep], v[keep]
    if t.size > 1 and bool((t[1:] < t[:-1]).any()):
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
    return Series(t, v.astype(np.float64), series.kind, series.states)


def time_base(ordered: Sequence[tuple[str, Series]]) -> str:
    """The key with the most samples; the first of equals."""
    best, most = ordered[0][0], -1
    for key, s in ordered:
        if s.t.size > most:
            best, most = key, s.t.size
    return best


def values_at(series: Series, at: np.ndarray) -> np.ndarray:
    """`series` at times `at` by the rule above (float64, NaN outside its first…last sample)."""
    out = np.full(at.shape, np.nan)
    t, v = series.t, series.v
    if t.size == 0 or at.size == 0:
        return out
    inside = (at >= t[0]) & (at <= t[-1])
    a = at[inside]
    if series.holds:
        out[inside] = v[np.searchsorted(t, a, side="right") - 1]
    else:
        out[inside] = np.interp(a, t, v)
    return out


def align(ordered: Sequence[tuple[str, Series]]) -> tuple[str, np.ndarray, dict[str, np.ndarray]]:
    """(base key, base times, every key's values at those times); the base's own values as they are."""
    base = time_base(ordered)
    lookup = dict(ordered)
    t = lookup[base].t
    return base, t, {key: (s.v if key == base else values_at(s, t)) for key, s in ordered}
