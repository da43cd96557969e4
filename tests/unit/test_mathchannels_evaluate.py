"""Math channels evaluated on hand-made signals, each value against numpy written here.

The expected values are computed in this file from the raw arrays (np.interp with its own
NaN masks, a loop for held values, scipy for integ, a brute-force window for smooth), never
with the package's own helpers.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

from pitwall.common.mathchannels import (
    MathError,
    MissingSignal,
    Series,
    Unavailable,
    evaluate,
    parse,
)

RNG = np.random.default_rng(24)
TA = np.sort(RNG.uniform(0.0, 10.0, 200))  # the time base of most tests (most samples)
A = RNG.normal(0.0, 2.0, TA.size)
TB = np.sort(RNG.uniform(1.0, 8.0, 50))  # fewer samples, starts late, ends early: NaN outside
B = RNG.normal(1.0, 3.0, TB.size)
TC = np.sort(RNG.uniform(-1.0, 11.0, 40))
C = RNG.integers(-5, 6, TC.size).astype(np.int32)  # an integer: held
STATE_T = np.array([-1.0, 2.0, 4.5, 6.0, 9.0])
STATE_V = np.array([0, 1, 5, 1, 5], dtype=np.int32)
STATES = {0: "STARTUP", 1: "TRACTIVE_SYSTEM_ACTIVE", 5: "READY_TO_DRIVE"}

SIGNALS = {
    "a:x": Series(TA, A, "double"),
    "b:y": Series(TB, B, "single"),
    "c:n": Series(TC, C, "int32"),
    "mcu:state": Series(STATE_T, STATE_V, "enum", STATES),
}


def fetch(key: str) -> Series | None:
    return SIGNALS.get(key)


def linear(t: np.ndarray, v: np.ndarray, at: np.ndarray) -> np.ndarray:
    out = np.interp(at, t, v.astype(np.float64))
    out[(at < t[0]) | (at > t[-1])] = np.nan
    return out


def held(t: np.ndarray, v: np.ndarray, at: np.ndarray) -> np.ndarray:
    out = []
    for x in at:
        i = bisect.bisect_right(list(t), x) - 1
        out.append(float(v[i]) if i >= 0 and x <= t[-1] else math.nan)
    return np.array(out)


Bi = linear(TB, B, TA)  # b at a's times
Ci = held(TC, C, TA)


def run(text: str, **kw: object) -> np.ndarray:
    got = evaluate(parse(text), fetch, **kw)  # type: ignore[arg-type]
    assert got.t.shape == got.v.shape and got.v.dtype == np.float64
    return got.v


def on_a(text: str, **kw: object) -> np.ndarray:
    """`text` on a's times (a has the most samples; `[a:x] * 0` adds 0 to finite values)."""
    return run(f"[a:x] * 0 + ({text})", **kw)


def same(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True)


def unknown(result: np.ndarray, *operands: np.ndarray) -> np.ndarray:
    """1.0/0.0, NaN where an operand is NaN: the README's rule."""
    nan = np.zeros(result.shape, dtype=bool)
    for x in operands:
        nan |= np.isnan(np.broadcast_to(x, result.shape))
    return np.where(nan, np.nan, result.astype(np.float64))


with np.errstate(all="ignore"):
    ARITH = {
        "[a:x] + [b:y]": A + Bi,
        "[a:x] - [b:y] - 1": (A - Bi) - 1,
        "[a:x] - ([b:y] - 1)": A - (Bi - 1),
        "[a:x] * [c:n] / 4": A * Ci / 4,
        "[a:x] / [c:n]": A / Ci,  # C holds zeros: ±inf and NaN, no error
        "[a:x] ** 2": A**2,
        "[a:x] ** [c:n]": np.power(A, Ci),
        "[a:x] * 0 + 2 ** 3 ** [c:n]": A * 0 + 2.0 ** (3.0**Ci),  # right-associative
        "-[a:x] ** 2": -(A**2),  # ** binds tighter than unary minus, as in Python
        "(-[a:x]) ** 2": (-A) ** 2,
        "- -[a:x]": A,
        "1 + 2 * [a:x] ** 2 / 4 - 3": 1 + 2 * A**2 / 4 - 3,
        "[a:x] * 1.5e-3 + .25 + 7.": A * 1.5e-3 + 0.25 + 7.0,
    }
    COMPARE = {
        f"[a:x] {op} [b:y]": unknown(fn(A, Bi), A, Bi)
        for op, fn in {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
                       "==": np.equal, "!=": np.not_equal}.items()
    }
    COMPARE["[c:n] == 0"] = unknown(Ci == 0, Ci)
    COMPARE["[c:n] >= [c:n]"] = unknown(Ci >= Ci, Ci)
    LOGIC = {
        "[a:x] > 0 and [c:n] > 0": unknown((A > 0) & (Ci > 0), A, Ci),
        "[a:x] > 0 or [b:y] > 0": unknown((A > 0) | (Bi > 0), A, Bi),
        "not [a:x] > 0": unknown(~(A > 0), A),
        "not [c:n]": unknown(Ci == 0, Ci),
        "[a:x] > 1 or [a:x] < -1 and [c:n] > 2": unknown((A > 1) | ((A < -1) & (Ci > 2)), A, Ci),
        "not [a:x] > 0 and [b:y] > 0": unknown(~(A > 0) & (Bi > 0), A, Bi),
    }
    FUNCS = {
        "abs([b:y])": np.abs(Bi),
        "sqrt([a:x])": np.sqrt(A),  # negatives: NaN
        "exp([a:x])": np.exp(A),
        "log([a:x])": np.log(A),  # negatives NaN, zero -inf
        "sin([a:x])": np.sin(A),
        "cos([a:x])": np.cos(A),
        "tan([a:x])": np.tan(A),
        "atan2([b:y], [a:x])": np.arctan2(Bi, A),
        "min([a:x], [b:y])": np.minimum(A, Bi),
        "min([a:x], [b:y], [c:n], 0.5)": np.minimum(np.minimum(np.minimum(A, Bi), Ci), 0.5),
        "max([a:x], 0)": np.maximum(A, 0.0),
        "max([a:x], [b:y], [c:n])": np.maximum(np.maximum(A, Bi), Ci),
        "clip([a:x], -1, 1.5)": np.minimum(np.maximum(A, -1.0), 1.5),
        "clip([a:x], [c:n], 2)": np.minimum(np.maximum(A, Ci), 2.0),
        "where([a:x] > 0, [b:y], -[a:x])": np.where(A > 0, Bi, -A),
        "where([c:n], 1, 2)": unknown(np.where(Ci != 0, 1.0, 2.0), Ci),
    }


@pytest.mark.parametrize("text", list(ARITH))
def test_arithmetic_and_precedence(text: str) -> None:
    same(on_a(text), ARITH[text])


@pytest.mark.parametrize("text", list(COMPARE))
def test_comparisons_give_one_or_zero_and_nan_where_unknown(text: str) -> None:
    got = on_a(text)
    same(got, COMPARE[text])
    assert set(np.unique(got[np.isfinite(got)])) <= {0.0, 1.0}


@pytest.mark.parametrize("text", list(LOGIC))
def test_and_or_not(text: str) -> None:
    same(on_a(text), LOGIC[text])


@pytest.mark.parametrize("text", list(FUNCS))
def test_elementwise_functions(text: str) -> None:
    same(on_a(text), FUNCS[text])


def test_division_by_zero_and_log_of_a_negative_are_ieee_not_errors() -> None:
    got = run("[a:x] / ([c:n] * 0) + log(-abs([a:x]) - 1)")
    assert np.isnan(got).all()
    got = run("1 / ([a:x] * 0)")
    assert np.isinf(got).sum() == int((A != 0).sum())  # 1/±0 is ±inf
    assert np.isnan(run("sqrt(-1 - abs([a:x]))")).all()
    assert np.isposinf(run("[a:x] * 0 + 1e999")).all()


def test_deriv_is_numpy_gradient_against_time() -> None:
    same(run("deriv([a:x])"), np.gradient(A, TA))
    same(run("deriv([a:x] * [b:y])"), np.gradient(A * Bi, TA))
    same(run("deriv(3 + 0 * [a:x])"), np.gradient(np.full(TA.size, 3.0), TA))  # a constant broadcast
    # a sine of known frequency: the derivative is its cosine (within the sampling error)
    t = np.linspace(0, 2, 2001)
    SIGNALS["s:sine"] = Series(t, np.sin(2 * np.pi * t), "double")
    try:
        got = evaluate(parse("deriv([s:sine])"), fetch).v
    finally:
        del SIGNALS["s:sine"]
    np.testing.assert_allclose(got[1:-1], 2 * np.pi * np.cos(2 * np.pi * t[1:-1]), atol=1e-3)


def test_integ_is_scipy_cumulative_trapezoid_from_the_window_start() -> None:
    np.testing.assert_array_equal(run("integ([a:x])"), cumulative_trapezoid(A, TA, initial=0))
    keep = (TA >= 2.5) & (TA <= 7.0)
    got = run("integ([a:x] * 2)", start=2.5, end=7.0)
    np.testing.assert_array_equal(got, cumulative_trapezoid(A[keep] * 2, TA[keep], initial=0))
    assert got[0] == 0.0


def _smooth_reference(t: np.ndarray, x: np.ndarray, seconds: float) -> np.ndarray:
    out = np.empty(t.size)
    for i in range(t.size):
        window = x[(t >= t[i] - seconds / 2) & (t <= t[i] + seconds / 2)]
        window = window[~np.isnan(window)]
        out[i] = window.mean() if window.size else np.nan
    return out


@pytest.mark.parametrize("seconds", [0.0, 0.05, 0.5, 2.0, 1e9])
def test_smooth_is_the_centred_mean_over_the_span(seconds: float) -> None:
    same(on_a(f"smooth([a:x], {seconds!r})"), _smooth_reference(TA, A, seconds))
    # b is NaN outside its samples: those are left out of each mean, not spread over it
    with np.errstate(all="ignore"):
        want = _smooth_reference(TA, Bi, seconds)
    same(on_a(f"smooth([b:y], {seconds!r})"), want)


def test_smooth_of_large_offsets_keeps_precision() -> None:
    t = np.arange(200_000) * 1e-3
    x = 1e6 + np.sin(t)
    SIGNALS["big:x"] = Series(t, x, "double")
    try:
        got = evaluate(parse("smooth([big:x], 0.101)"), fetch).v
    finally:
        del SIGNALS["big:x"]
    for i in (0, 50, 99_999, 199_999):
        window = x[(t >= t[i] - 0.0505) & (t <= t[i] + 0.0505)]
        assert got[i] == pytest.approx(window.mean(), rel=1e-12)


def test_smooth_with_infinities_follows_ieee_addition() -> None:
    t = np.arange(10.0)
    x = np.array([1, 2, np.inf, 4, 5, -np.inf, 7, 8, 9, np.nan])
    SIGNALS["inf:x"] = Series(t, x, "double")
    try:
        got = evaluate(parse("smooth([inf:x], 2)"), fetch).v
    finally:
        del SIGNALS["inf:x"]
    with np.errstate(all="ignore"):
        want = np.array([np.mean(x[max(i - 1, 0) : i + 2][~np.isnan(x[max(i - 1, 0) : i + 2])]) for i in range(10)])
    same(got, want)


def test_state_names_compare_with_state_signals() -> None:
    at = held(STATE_T, STATE_V, TA)
    ready = unknown(at == 5, at)
    same(run('[mcu:state] == "READY_TO_DRIVE" and [a:x] == [a:x]'), unknown((at == 5) & (A == A), at))
    same(run('[a:x] * 0 + ([mcu:state] == "READY_TO_DRIVE")'), ready)
    same(run("[a:x] * 0 + ('ready_to_drive' == [mcu:state])"), ready)  # either side, any case
    same(run('[a:x] * 0 + ([mcu:state] != "STARTUP")'), unknown(at != 0, at))


def test_states_keyed_by_text_codes_as_json_documents_hold_them() -> None:
    SIGNALS["doc:state"] = Series(STATE_T, STATE_V, "int32", {"0": "STARTUP", "5": "READY_TO_DRIVE"})  # type: ignore[dict-item]
    try:
        at = held(STATE_T, STATE_V, TA)
        same(on_a('[doc:state] == "READY_TO_DRIVE"'), unknown(at == 5, at))
    finally:
        del SIGNALS["doc:state"]


def test_a_state_name_the_signal_lacks_is_unavailable_at_its_position() -> None:
    text = '[a:x] + ([mcu:state] == "LAUNCH")'
    with pytest.raises(Unavailable) as caught:
        run(text)
    assert caught.value.position == text.index('"LAUNCH"')
    assert "LAUNCH" in str(caught.value) and "READY_TO_DRIVE" in str(caught.value)
    with pytest.raises(Unavailable, match="no state names") as caught:
        run('[a:x] + ([c:n] == "READY")')
    assert caught.value.position == 18


def test_a_missing_signal_names_its_key_and_position() -> None:
    with pytest.raises(MissingSignal) as caught:
        run("[a:x] + 2 * [nope:z]")
    assert caught.value.key == "nope:z" and caught.value.position == 12
    assert isinstance(caught.value, MathError) and "\n" not in str(caught.value)


def test_a_text_signal_is_unavailable() -> None:
    SIGNALS["log:msg"] = Series(TA, np.array(["x"] * TA.size, dtype=object), "string")
    try:
        with pytest.raises(Unavailable, match="text"):
            run("[log:msg] + [a:x]")
    finally:
        del SIGNALS["log:msg"]


LAPS = [{"lap": 1, "start_s": 1.0, "end_s": 3.5}, {"lap": 2, "start_s": 3.5, "end_s": 6.0},
        {"lap": 3, "start_s": 7.0, "end_s": 9.0, "distance_m": 900.0}]


def _lap_start(t: float) -> float:
    start = math.nan
    for lap in LAPS:  # the later of two touching laps wins
        if lap["start_s"] <= t <= lap["end_s"]:
            start = lap["start_s"]
    return start


def test_laptime_is_time_since_the_current_laps_start_and_nan_between_laps() -> None:
    want = np.array([t - _lap_start(t) for t in TA])
    same(run("laptime() + 0 * [a:x]", laps=LAPS), want)
    assert np.isnan(want[TA < 1.0]).all() and np.isnan(want[(TA > 6.0) & (TA < 7.0)]).all()


def test_laptime_at_lap_boundaries() -> None:
    t = np.array([0.5, 1.0, 2.0, 3.5, 6.0, 6.5, 7.0, 9.0, 9.5])
    got = evaluate(parse("laptime() + [k:x]"), {"k:x": Series(t, np.zeros(t.size), "double")}.get, laps=LAPS).v
    # 3.5 ends lap 1 and starts lap 2: lap 2's 0; 6.0 is lap 2's end; 9.0 lap 3's end
    np.testing.assert_array_equal(got, [np.nan, 0.0, 1.0, 0.0, 2.5, np.nan, 0.0, 2.0, np.nan])


def test_lapdist_is_distance_since_the_current_laps_start() -> None:
    td = np.linspace(0.0, 10.0, 333)
    d = np.cumsum(RNG.uniform(0.0, 5.0, td.size))
    distance = Series(td, d, "double")
    want = np.array([np.interp(t, td, d) - np.interp(_lap_start(t), td, d) for t in TA])
    same(run("lapdist() + 0 * [a:x]", laps=LAPS, distance=distance), want)


def test_lap_functions_without_laps_say_so() -> None:
    no_laps: list[list[dict[str, float]] | None] = [None, []]
    for laps in no_laps:
        with pytest.raises(Unavailable, match="this run has no laps") as caught:
            run("[a:x] + laptime()", laps=laps)
        assert caught.value.position == 8
    with pytest.raises(Unavailable, match="distance"):
        run("[a:x] + lapdist()", laps=LAPS)


def test_math_references_are_evaluated_from_their_definitions_and_aligned() -> None:
    defs = {"double_b": parse("[b:y] * 2"), "both": parse("[math:double_b] - [a:x]")}
    got = evaluate(parse("[a:x] + [math:double_b]"), fetch, definitions=defs)
    assert got.base == "a:x"
    same(got.v, A + linear(TB, B * 2.0, TA))
    got = evaluate(parse("[math:both]"), fetch, definitions=defs)
    same(got.v, Bi * 2 - A)


def test_a_math_channel_lacking_a_signal_names_the_signal_and_the_channel() -> None:
    defs = {"inner": parse("[gone:x] + 1")}
    with pytest.raises(MissingSignal) as caught:
        evaluate(parse("[a:x] + [math:inner]"), fetch, definitions=defs)
    assert caught.value.key == "gone:x" and caught.value.position == 8 and "math:inner" in str(caught.value)
    with pytest.raises(MissingSignal) as caught:
        evaluate(parse("[a:x] + [math:undefined]"), fetch, definitions=defs)
    assert caught.value.key == "math:undefined"


def test_a_cycle_met_while_evaluating_is_an_error_not_a_recursion() -> None:
    defs = {"p": parse("[math:q] + 1"), "q": parse("[math:p] * 2")}
    with pytest.raises(MathError, match="cycle"):
        evaluate(parse("[math:p]"), fetch, definitions=defs)


def test_the_result_is_float64_on_the_base_times() -> None:
    got = evaluate(parse("[c:n] + [a:x] * 0"), fetch)
    assert got.base == "a:x"
    np.testing.assert_array_equal(got.t, TA)
    assert got.v.dtype == np.float64 and got.v.flags.c_contiguous
