"""Fuzzing the parser and the evaluator (hypothesis): random text, soups of the language's
own tokens and hostile words, and random well-formed expressions. Whatever comes in, the
answer is a result or a `MathError` with a one-line message, within 1 s (the deadline)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitwall.common.mathchannels import MAX_CHARS, Evaluated, MathError, Series, evaluate, parse

SETTINGS = settings(max_examples=300, deadline=1000, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

T = np.linspace(0.0, 20.0, 400)
SIGNALS = {
    "a:x": Series(T, np.sin(T) * 3, "double"),
    "b:y": Series(T[::3] + 0.01, np.cos(T[::3]), "single"),
    "c:n": Series(T[::7], np.arange(T[::7].size, dtype=np.int32) % 4 - 1, "int32"),
    "flag:on": Series(T[::5], np.arange(T[::5].size) % 2 == 0, "logical"),
    "s:state": Series(T[::11], np.arange(T[::11].size, dtype=np.int32) % 3, "enum", {0: "OFF", 1: "READY", 2: "GO"}),
}
DEFINITIONS = {"m": parse("[b:y] * 2 + [c:n]"), "loop": parse("[math:loop2] + [a:x]"),
               "loop2": parse("[math:loop] * 2")}
LAPS = [{"start_s": 1.0, "end_s": 7.0}, {"start_s": 7.0, "end_s": 15.0}]
DISTANCE = Series(T, T * 12.5, "double")


def attempt(text: str) -> Evaluated | None:
    """Parse and evaluate; only a MathError may come out, in one line."""
    try:
        expr = parse(text)
        return evaluate(expr, SIGNALS.get, laps=LAPS, definitions=DEFINITIONS, distance=DISTANCE)
    except MathError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message, repr(message)
        assert exc.position is None or 0 <= exc.position <= max(len(text), MAX_CHARS)
        return None


def consistent(got: Evaluated | None) -> None:
    if got is not None:
        assert got.t.shape == got.v.shape and got.v.dtype == np.float64


@SETTINGS
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    consistent(attempt(text))


LANGUAGE_CHARS = "[]():,.+-*/<>=!\"' \n\tandortwhesqrabclipmx_0123456789e:"


@SETTINGS
@given(st.text(alphabet=LANGUAGE_CHARS, max_size=200))
def test_random_text_of_the_languages_characters(text: str) -> None:
    consistent(attempt(text))


TOKENS = ["[a:x]", "[b:y]", "[c:n]", "[s:state]", "[math:m]", "[math:loop]", "[nope:z]", "[math:nope]", "(", ")",
          ",", "+", "-", "**", "*", "/", "<", "<=", "==", "!=", ">", "not", "and", "or", "abs", "sqrt", "log", "min",
          "max", "clip", "where", "deriv", "integ", "smooth", "laptime", "lapdist", "atan2", "0", "1", "2.5", "1e999",
          "1e-320", '"GO"', "'ready'", '"LAUNCH"', "__import__", "__class__", ".", "[", "]", "lambda", ":", "for",
          "in", "x", "os", "=", ";", "\\", "{", "}", "@", "'", '"', "0x10", "1_0", "\x00", "é"]


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.lists(st.sampled_from(["", " ", "  ", "\n"]), max_size=40))
def test_soups_of_tokens_and_hostile_words(tokens: list[str], gaps: list[str]) -> None:
    text = "".join(tok + (gaps[i] if i < len(gaps) else " ") for i, tok in enumerate(tokens))
    consistent(attempt(text))


# Well-formed expressions: (text, atomic) pairs, composites parenthesised where they nest.
KEYS = ["[a:x]", "[b:y]", "[c:n]", "[flag:on]", "[math:m]"]
NUMBERS = st.one_of(st.integers(0, 10**6).map(str), st.floats(0, 1e6).map(repr),
                    st.sampled_from(["0", "1e999", ".5", "3.", "1e-300", "2E+3"]))
STATE = st.tuples(st.sampled_from(['"GO"', "'ready'", '"OFF"']), st.sampled_from(["==", "!="]), st.booleans()).map(
    lambda p: (f"[s:state] {p[1]} {p[0]}" if p[2] else f"{p[0]} {p[1]} [s:state]", False))
LEAF = st.one_of(st.sampled_from(KEYS).map(lambda k: (k, True)), NUMBERS.map(lambda n: (n, True)), STATE,
                 st.sampled_from(["laptime()", "lapdist()"]).map(lambda f: (f, True)))
Piece = tuple[str, bool]


def _p(piece: Piece) -> str:
    return piece[0] if piece[1] else f"({piece[0]})"


def _extend(kids: st.SearchStrategy[Piece]) -> st.SearchStrategy[Piece]:
    ops = ["+", "-", "*", "/", "**", "<", "<=", ">", ">=", "==", "!=", "and", "or"]
    return st.one_of(
        st.tuples(kids, st.sampled_from(ops), kids).map(lambda t: (f"{_p(t[0])} {t[1]} {_p(t[2])}", False)),
        kids.map(lambda k: (f"-{_p(k)}", False)),
        kids.map(lambda k: (f"not {_p(k)}", False)),
        st.tuples(st.sampled_from(["abs", "sqrt", "exp", "log", "sin", "cos", "tan", "deriv", "integ"]), kids).map(
            lambda t: (f"{t[0]}({t[1][0]})", True)),
        st.tuples(st.sampled_from(["atan2", "min", "max"]), kids, kids).map(
            lambda t: (f"{t[0]}({t[1][0]}, {t[2][0]})", True)),
        st.tuples(st.sampled_from(["clip", "where", "min", "max"]), kids, kids, kids).map(
            lambda t: (f"{t[0]}({t[1][0]}, {t[2][0]}, {t[3][0]})", True)),
        st.tuples(kids, st.sampled_from(["0", "0.1", "1", "2.5", "100"])).map(
            lambda t: (f"smooth({t[0][0]}, {t[1]})", True)),
    )


WELL_FORMED = st.recursive(LEAF, _extend, max_leaves=25)


@SETTINGS
@given(WELL_FORMED)
def test_well_formed_expressions_parse_and_evaluate(piece: Piece) -> None:
    text = piece[0] if "[" in piece[0] else f"({piece[0]}) + [a:x]"
    if len(text) > MAX_CHARS:
        return
    expr = parse(text)  # well-formed and within the limits: no MathError
    assert parse(expr.canonical).root == expr.root
    got = evaluate(expr, SIGNALS.get, laps=LAPS, definitions=DEFINITIONS, distance=DISTANCE)
    assert got.t.shape == got.v.shape and got.v.dtype == np.float64
    assert got.base in {k.strip("[]") for k in KEYS} | {"s:state"}
