"""Evaluate a parsed expression on one run's signals with numpy.

Every value is float64. Arithmetic follows IEEE under `np.errstate(all="ignore")`: division
by zero gives ±inf or NaN, log of a negative NaN, never an error. Comparisons and `and`,
`or`, `not`, `where` read nonzero as true and give 1.0 or 0.0, and NaN where an operand is
NaN (unknown stays unknown: e.g. outside a signal's samples).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np

from pitwall.common.mathchannels.align import Series, align, prepare
from pitwall.common.mathchannels.check import evaluation_order
from pitwall.common.mathchannels.errors import MathError, MissingSignal, Unavailable
from pitwall.common.mathchannels.laps import LapLike, lapdist, laptime
from pitwall.common.mathchannels.nodes import (
    MATH_PREFIX,
    Arith,
    Call,
    Compare,
    Expression,
    Logic,
    Negate,
    Node,
    Not,
    Number,
    Power,
    Signal,
    Text,
)
from pitwall.common.mathchannels.timeops import deriv, integ, smooth

Fetch = Callable[[str], Series | None]

_ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}
_COMPARE = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
            "==": np.equal, "!=": np.not_equal}
_ELEMENTWISE = {"abs": np.abs, "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos,
                "tan": np.tan}
_MAX_STATE_LIST = 8


@dataclass(frozen=True, slots=True, eq=False)
class Evaluated:
    """A math channel on one run: times (s, the time base's) and float64 values."""

    t: np.ndarray
    v: np.ndarray
    base: str  # the key whose samples are the time base


@dataclass(slots=True)
class _Context:
    t: np.ndarray
    series: dict[str, Series]
    values: dict[str, np.ndarray]
    laps: Sequence[LapLike] | None
    distance: Series | None


def evaluate(
    expr: Expression,
    fetch: Fetch,
    start: float | None = None,
    end: float | None = None,
    laps: Sequence[LapLike] | None = None,
    definitions: Mapping[str, Expression] | None = None,
    distance: Series | None = None,
) -> Evaluated:
    """`expr` on one run.

    `fetch(key)` gives a raw signal (`topic:path` or `topic:path[i]`) as a `Series` on the
    run's clock in seconds, or None when the run lacks it (`MissingSignal`); only samples in
    [start, end] are used (fetch may already have cut them). `math:<name>` references are
    evaluated from `definitions` over the same window. `laps`: the run's laps (`start_s`,
    `end_s`, same clock) for laptime() and lapdist(); `distance`: the run's cumulative distance
    in metres for lapdist(). Raises `Unavailable` (a `MathError`) when this run cannot give the
    channel, `MathError` when the definitions are at fault (a cycle).
    """
    defs = definitions or {}
    raw: dict[str, Series] = {}
    computed: dict[str, Series] = {}

    def source(key: str, position: int) -> Series:
        if key.startswith(MATH_PREFIX):
            return computed[key]
        if key not in raw:
            try:
                got = fetch(key)
            except MissingSignal as exc:
                raise MissingSignal(exc.key, position) from None
            if got is None:
                raise MissingSignal(key, position)
            raw[key] = prepare(key, got, start, end)
        return raw[key]

    def run(e: Expression) -> Evaluated:
        ordered = [(key, source(key, e.position_of(key) or 0)) for key in e.references]
        base, t, values = align(ordered)
        ctx = _Context(t, dict(ordered), values, laps, distance)
        v = _value(e.root, ctx)
        return Evaluated(t, np.broadcast_to(v, t.shape).astype(np.float64), base)

    with np.errstate(all="ignore"):
        for ref in expr.math_references:
            key = MATH_PREFIX + ref
            pos = expr.position_of(key)
            if ref not in defs:
                raise MissingSignal(key, pos)
            try:
                for name in evaluation_order(defs, [ref]):
                    if MATH_PREFIX + name not in computed:
                        got = run(defs[name])
                        computed[MATH_PREFIX + name] = Series(got.t, got.v, "double")
            except MissingSignal as exc:
                raise MissingSignal(exc.key, pos, via=exc.via or key) from None
            except Unavailable as exc:
                raise Unavailable(f"[{key}]: {exc.problem}", pos) from None
        return run(expr)


def _full(x: np.ndarray, ctx: _Context) -> np.ndarray:
    return np.broadcast_to(x, ctx.t.shape).astype(np.float64)


def _unknown_if_nan(result: np.ndarray, *operands: np.ndarray) -> np.ndarray:
    nan = reduce(np.logical_or, [np.isnan(x) for x in operands])
    out: np.ndarray = np.where(nan, np.nan, result.astype(np.float64))
    return out


def _value(node: Node, ctx: _Context) -> np.ndarray:
    if isinstance(node, Number):
        return np.asarray(node.value, dtype=np.float64)
    if isinstance(node, Signal):
        return ctx.values[node.key]
    if isinstance(node, Negate):
        out: np.ndarray = np.negative(_value(node.operand, ctx))
        return out
    if isinstance(node, Not):
        x = _value(node.operand, ctx)
        return _unknown_if_nan(x == 0, x)
    if isinstance(node, Arith):
        acc = _value(node.first, ctx)
        for op, operand in node.rest:
            acc = _ARITH[op](acc, _value(operand, ctx))
        return acc
    if isinstance(node, Power):
        out = np.power(_value(node.base, ctx), _value(node.exponent, ctx))
        return out
    if isinstance(node, Compare):
        return _compare(node, ctx)
    if isinstance(node, Logic):
        xs = [_value(x, ctx) for x in node.operands]
        joined = reduce(np.logical_and if node.op == "and" else np.logical_or, [x != 0 for x in xs])
        return _unknown_if_nan(joined, *xs)
    if isinstance(node, Call):
        return _call(node, ctx)
    raise MathError("a quoted state name is only compared with == or != to a signal", node.position)


def _compare(node: Compare, ctx: _Context) -> np.ndarray:
    for text, other in ((node.left, node.right), (node.right, node.left)):
        if isinstance(text, Text) and isinstance(other, Signal):
            same = _in_state(other.key, text, ctx)
            return same if node.op == "==" else 1.0 - same
    a, b = _value(node.left, ctx), _value(node.right, ctx)
    return _unknown_if_nan(_COMPARE[node.op](a, b), a, b)


def _in_state(key: str, text: Text, ctx: _Context) -> np.ndarray:
    """1.0 where the signal's code is one named `text` (ignoring case), 0.0 elsewhere, NaN unknown."""
    states = ctx.series[key].states
    if not states:
        raise Unavailable(f"[{key}] has no state names to compare {text.value[:60]!r} with", text.position)
    wanted = text.value.casefold()
    codes = [_code(code) for code, name in states.items() if str(name).casefold() == wanted]
    codes = [c for c in codes if c is not None]
    if not codes:
        known = sorted(set(map(str, states.values())))
        listed = ", ".join(known[:_MAX_STATE_LIST]) + (", ..." if len(known) > _MAX_STATE_LIST else "")
        raise Unavailable(f"[{key}] has no state {text.value[:60]!r} (its states: {listed})", text.position)
    x = ctx.values[key]
    return _unknown_if_nan(np.isin(x, np.array(codes, dtype=np.float64)), x)


def _code(code: object) -> float | None:
    """A state's code as a number (documents from JSON may key them by text, "5")."""
    try:
        return float(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _call(node: Call, ctx: _Context) -> np.ndarray:
    name = node.name
    if name in ("laptime", "lapdist"):
        if not ctx.laps:
            raise Unavailable("this run has no laps", node.position)
        if name == "laptime":
            return laptime(ctx.t, ctx.laps)
        if ctx.distance is None:
            raise Unavailable("this run has no distance trace (GPS or wheel speed) for lapdist()", node.position)
        return lapdist(ctx.t, ctx.laps, prepare("distance", ctx.distance, None, None))
    if name == "smooth":
        span = node.args[1]
        assert isinstance(span, Number)  # parse() allows nothing else
        return smooth(ctx.t, _full(_value(node.args[0], ctx), ctx), span.value)
    args = [_value(a, ctx) for a in node.args]
    if name in _ELEMENTWISE:
        out: np.ndarray = _ELEMENTWISE[name](args[0])
        return out
    if name == "atan2":
        return np.arctan2(args[0], args[1])
    if name == "min":
        return reduce(np.minimum, args)
    if name == "max":
        return reduce(np.maximum, args)
    if name == "clip":
        return np.minimum(np.maximum(args[0], args[1]), args[2])
    if name == "where":
        cond = args[0]
        return _unknown_if_nan(np.where(cond != 0, args[1], args[2]), cond)
    if name == "deriv":
        return deriv(ctx.t, _full(args[0], ctx))
    if name == "integ":
        return integ(ctx.t, _full(args[0], ctx))
    raise MathError(f"unknown function {name[:40]!r}", node.position)

