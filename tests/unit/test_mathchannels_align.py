"""The alignment rule on hand-made series: which times a channel has, held against linear
values, NaN outside each signal's own samples, the window. Expected values are literals."""

from __future__ import annotations

import numpy as np
import pytest

from pitwall.common.mathchannels import Series, evaluate, parse

NAN = np.nan


def result(text: str, signals: dict[str, Series], **kw: float) -> tuple[str, np.ndarray, np.ndarray]:
    got = evaluate(parse(text), signals.get, **kw)  # type: ignore[arg-type]
    return got.base, got.t, got.v


def eq(got: np.ndarray, want: list[float]) -> None:
    np.testing.assert_array_equal(got, np.array(want, dtype=np.float64))


BASE_T = [-0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]  # 8 samples: the time base
STEPS = ([0.0, 1.0, 2.0], [10, 20, 30])  # 3 samples inside the base's span


@pytest.mark.parametrize("kind", ["int32", "uint32", "int64", "uint64", "enum"])
def test_integer_and_state_signals_hold_the_last_value(kind: str) -> None:
    signals = {"base:t": Series(np.array(BASE_T), np.zeros(8), "double"),
               "s:n": Series(np.array(STEPS[0]), np.array(STEPS[1]), kind)}
    base, t, v = result("[base:t] + [s:n]", signals)
    assert base == "base:t"
    eq(t, BASE_T)
    eq(v, [NAN, 10, 10, 20, 20, 30, NAN, NAN])


@pytest.mark.parametrize("kind", ["double", "single"])
def test_floating_point_signals_are_linear_between_samples(kind: str) -> None:
    signals = {"base:t": Series(np.array(BASE_T), np.zeros(8), "double"),
               "s:x": Series(np.array(STEPS[0]), np.array(STEPS[1], dtype=np.float64), kind)}
    eq(result("[base:t] + [s:x]", signals)[2], [NAN, 10, 15, 20, 25, 30, NAN, NAN])


def test_booleans_hold_as_one_and_zero() -> None:
    signals = {"base:t": Series(np.array(BASE_T), np.zeros(8), "double"),
               "s:b": Series(np.array([0.0, 1.5]), np.array([True, False]), "logical")}
    eq(result("[base:t] + [s:b]", signals)[2], [NAN, 1, 1, 1, 0, NAN, NAN, NAN])


def test_a_floating_point_signal_with_state_names_holds() -> None:
    signals = {"base:t": Series(np.array(BASE_T), np.zeros(8), "double"),
               "s:x": Series(np.array(STEPS[0]), np.array([1.0, 2.0, 3.0]), "double", {1: "A", 2: "B", 3: "C"})}
    eq(result("[base:t] + [s:x]", signals)[2], [NAN, 1, 1, 2, 2, 3, NAN, NAN])


def test_the_signal_with_most_samples_is_the_time_base_wherever_it_appears() -> None:
    signals = {"few:x": Series(np.array([0.0, 1.0]), np.array([0.0, 10.0]), "double"),
               "many:x": Series(np.array([0.0, 0.25, 0.5, 0.75, 1.0]), np.arange(5.0), "double")}
    for text in ("[few:x] + [many:x]", "[many:x] + [few:x]", "[few:x] * 2 - [many:x] * 0"):
        base, t, _ = result(text, signals)
        assert base == "many:x"
        eq(t, [0.0, 0.25, 0.5, 0.75, 1.0])
    eq(result("[few:x] + [many:x]", signals)[2], [0, 3.5, 7, 10.5, 14])


def test_ties_go_to_the_signal_referenced_first() -> None:
    signals = {"p:x": Series(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]), "double"),
               "q:x": Series(np.array([0.5, 1.5, 2.5]), np.array([5.0, 15.0, 25.0]), "double")}
    base, t, v = result("[p:x] + [q:x]", signals)
    assert base == "p:x"
    eq(t, [0, 1, 2])
    eq(v, [NAN, 11, 22])
    base, t, v = result("[q:x] + [p:x]", signals)
    assert base == "q:x"
    eq(t, [0.5, 1.5, 2.5])
    eq(v, [5.5, 16.5, NAN])
    assert result("2 * sqrt([q:x]) + [p:x] - [q:x]", signals)[0] == "q:x"


def test_the_window_decides_which_signal_has_most_samples() -> None:
    wide = np.linspace(0.0, 10.0, 101)  # 101 samples, 21 in [4, 6]
    dense = np.linspace(4.5, 5.5, 50)
    signals = {"wide:x": Series(wide, wide * 2, "double"), "dense:x": Series(dense, dense, "double")}
    assert result("[wide:x] + [dense:x]", signals)[0] == "wide:x"
    base, t, v = result("[wide:x] + [dense:x]", signals, start=4.0, end=6.0)
    assert base == "dense:x"
    np.testing.assert_array_equal(t, dense)
    np.testing.assert_allclose(v, dense * 3, rtol=1e-12)
    _, t, _ = result("[wide:x] + 0", signals, start=4.0, end=6.0)
    assert t[0] >= 4.0 and t[-1] <= 6.0 and t.size == 21


def test_samples_out_of_time_order_are_sorted_first() -> None:
    t = np.array([2.0, 0.0, 1.0, 3.0])
    v = np.array([20.0, 0.0, 10.0, 30.0])
    signals = {"a:x": Series(t, v, "double"), "b:x": Series(np.array([0.5, 2.5]), np.array([1.0, 2.0]), "int32")}
    _, tt, vv = result("[a:x] + [b:x]", signals)
    eq(tt, [0, 1, 2, 3])
    eq(vv, [NAN, 11, 21, NAN])


def test_a_signal_without_samples_in_the_window_is_nan_throughout() -> None:
    signals = {"a:x": Series(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), "double"),
               "b:x": Series(np.array([5.0, 6.0]), np.array([1.0, 2.0]), "double")}
    eq(result("[a:x] + [b:x]", signals, end=3.0)[2], [NAN, NAN, NAN])
    _, t, v = result("[a:x] + [b:x]", signals, start=10.0)
    assert t.size == 0 and v.size == 0
