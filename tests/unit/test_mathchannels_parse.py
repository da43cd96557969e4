"""Parsing: what the language accepts, what it refuses (with one line and a position), its
limits, and the expressions that try to reach Python."""

from __future__ import annotations

import time

import pytest

from pitwall.common.mathchannels import (
    MAX_CHARS,
    MAX_NESTING,
    MAX_SIGNALS,
    MathError,
    check_name,
    parse,
)


def refused(text: str) -> MathError:
    began = time.perf_counter()
    with pytest.raises(MathError) as caught:
        parse(text)
    assert time.perf_counter() - began < 1.0
    exc = caught.value
    assert "\n" not in str(exc) and "\r" not in str(exc) and len(str(exc)) < 400
    assert exc.position is not None and 0 <= exc.position <= len(text)
    assert str(exc).endswith(f"at position {exc.position}")
    return exc


def test_the_issue_examples_parse_with_their_references_in_order() -> None:
    e = parse("[brakes:front] / ([brakes:front] + [brakes:rear])")
    assert e.references == ("brakes:front", "brakes:rear") and e.functions == ()
    e = parse('where([mcu_status_data:mcu_state] == "READY_TO_DRIVE", deriv([VNData:vn_vel.x]), 0) + [math:other]')
    assert e.references == ("mcu_status_data:mcu_state", "VNData:vn_vel.x", "math:other")
    assert e.functions == ("where", "deriv") and e.math_references == ("other",)
    e = parse("sqrt([IMUData:accel.y] ** 2 + [IMUData:accel.x] ** 2) / 9.80665")
    assert e.references == ("IMUData:accel.y", "IMUData:accel.x") and e.functions == ("sqrt",)


def test_keys_keep_topics_with_colons_slashes_and_array_elements() -> None:
    e = parse("[/vehicle/imu:accel.x] + [ns:topic:path.a] + [wheels:rpm[3]]")
    assert e.references == ("/vehicle/imu:accel.x", "ns:topic:path.a", "wheels:rpm[3]")


def test_every_function_with_its_argument_count_parses() -> None:
    for text in ("abs(@)", "sqrt(@)", "exp(@)", "log(@)", "sin(@)", "cos(@)", "tan(@)", "atan2(@, @)", "min(@, @)",
                 "min(@, @, @, @)", "max(@, 1)", "clip(@, 0, 1)", "where(@ > 0, @, 0)", "deriv(@)", "integ(@)",
                 "smooth(@, 0.25)", "smooth(@, 0)", "lapdist() + @", "laptime() * @"):
        assert parse(text.replace("@", "[a:b]")).references == ("a:b",)


@pytest.mark.parametrize(("text", "position", "words"), [
    ("foo([a:b])", 0, "unknown function 'foo'"),
    ("[a:b] + Abs([a:b])", 8, "unknown function 'Abs'"),
    ("abs([a:b], 1)", 0, "abs() takes 1 argument, not 2"),
    ("[a:b] + atan2([a:b])", 8, "atan2() takes 2 arguments, not 1"),
    ("min([a:b])", 0, "min() takes at least 2 arguments, not 1"),
    ("clip([a:b], 1)", 0, "clip() takes 3 arguments, not 2"),
    ("[a:b] + laptime(1)", 8, "laptime() takes 0 arguments, not 1"),
    ("smooth([a:b], [a:b])", 14, "smooth(x, seconds)"),
    ("smooth([a:b], -1)", 14, "smooth(x, seconds)"),
    ("smooth([a:b], 1e999)", 14, "smooth(x, seconds)"),
    ("speed * 3.6", 0, "unknown name 'speed'"),
    ("[a:b] + 1 +", 11, "ends too early"),
    ("[a:b] + ", 7, "ends too early"),
    ("([a:b]", 6, "ends too early"),
    ("[a:b])", 5, "unexpected ')'"),
    ("[a:b] < 1 < 2", 10, "unexpected '<'"),
    ("[a:b] ^ 2", 6, "unexpected character '^'"),
    ("[a:b] = 2", 6, "unexpected character '='"),
    ("[a:b] & 1", 6, "unexpected character '&'"),
    ("[a:b] + 1_000", 9, "unexpected"),
    ("[a:b] + \u0663", 8, "unexpected character"),  # an Arabic-Indic 3: digits are 0-9 only
    ("[a b]", 0, "signal reference"),
    ("[ab]", 0, "[topic:path]"),
    ("[:b]", 0, "[topic:path]"),
    ("[a:]", 0, "[topic:path]"),
    ("[math:2x]", 0, "math channel"),
    ("[math:a.b]", 0, "math channel"),
    ('[a:b] == "READY', 9, "same line"),
    ('"READY" == 1 + [a:b]', 0, "state name"),
    ('[a:b] < "READY"', 8, "state name"),
    ('[a:b] + "x"', 8, "state name"),
    ('[math:m] == "READY"', 12, "state name"),
    ('"A" == "A" and [a:b]', 0, "state name"),
    ("1 + 2", 0, "names no signal"),
    ("   ", 0, "empty"),
])
def test_refusals_name_the_problem_and_its_position(text: str, position: int, words: str) -> None:
    exc = refused(text)
    assert exc.position == position, str(exc)
    assert words in str(exc)


def test_the_first_problem_in_the_text_is_the_one_reported() -> None:
    assert refused('foo([a:b]) + bar(1) + "x"').position == 0
    assert refused('[a:b] + "x" + foo(1)').position == 8


@pytest.mark.parametrize("text", [
    "__import__('os')",
    "__import__('os').system('true')",
    "[a:b].__class__",
    "[a:b].__class__.__mro__[1].__subclasses__()",
    "lambda: 1",
    "(lambda: [a:b])()",
    "[x for x in y]",
    "[[a:b] for x in y]",
    "a[0]",
    "[a:b][0]",
    "abs[0]",
    "().__class__",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('1')",
    "getattr([a:b], 'x')",
    "globals()",
    "[a:b] if 1 else 2",
    "{'a': 1}",
    "f'{1}'",
    "`1`",
    "[a:b]; 1",
    "[a:b], 1",
    "x = [a:b]",
    "[a:b] @ [a:b]",
    "1 if [a:b] else 0",
    "[a:b]\x00",
    "abs(*[a:b])",
    "abs(x=[a:b])",
    "(" * 10_000,
    "(" * 10_000 + "[a:b]" + ")" * 10_000,
    "x" * 100_000,
    "[a:b]" + "+1" * 50_000,
])
def test_hostile_expressions_are_refused_quickly_with_one_line(text: str) -> None:
    refused(text)


def test_length_limit() -> None:
    at_limit = "[a:b]" + " + 1" * ((MAX_CHARS - 5) // 4)
    at_limit += " " * (MAX_CHARS - len(at_limit))
    assert len(at_limit) == MAX_CHARS
    parse(at_limit)
    exc = refused(at_limit + "1")
    assert exc.position == MAX_CHARS and "2,000 characters" in str(exc)


def test_a_long_flat_chain_is_not_nesting() -> None:
    e = parse("[a:b]" + " + 1" * 498)  # 1,997 characters, one level
    assert e.references == ("a:b",)


def test_parentheses_nest_at_most_64_deep() -> None:
    parse("(" * MAX_NESTING + "[a:b]" + ")" * MAX_NESTING)
    exc = refused("(" * (MAX_NESTING + 1) + "[a:b]" + ")" * (MAX_NESTING + 1))
    assert exc.position == MAX_NESTING and "nest" in str(exc)
    # a parenthesis inside a quoted name or a key is not nesting
    parse('[a:b] == "' + "(" * 100 + '"')


def test_operators_and_calls_nest_at_most_64_deep() -> None:
    parse("abs(" * MAX_NESTING + "[a:b]" + ")" * MAX_NESTING)
    refused("abs(" * (MAX_NESTING + 1) + "[a:b]" + ")" * (MAX_NESTING + 1))
    parse("-" * MAX_NESTING + "[a:b]")
    exc = refused("-" * 1_500 + "[a:b]")  # no parentheses, yet deep: refused, not a RecursionError
    assert "nests deeper than 64" in str(exc)
    refused("not " * 400 + "[a:b]")
    refused("2 ** " * 300 + "[a:b]")


def test_at_most_16_distinct_signals() -> None:
    keys = [f"[t:s{i}]" for i in range(MAX_SIGNALS + 1)]
    e = parse(" + ".join(keys[:MAX_SIGNALS] + keys[:3]))  # repeats count once
    assert len(e.references) == MAX_SIGNALS
    text = " + ".join(keys)
    exc = refused(text)
    assert exc.position == text.index(keys[-1]) and "16" in str(exc)


def test_canonical_form_parses_back_to_the_same_tree() -> None:
    for text in ("-[a:b] ** 2", "(-[a:b]) ** 2", "[a:b] - ([a:b] - 1)", "([a:b] - 1) - 2", "2 ** 3 ** [a:b]",
                 "(2 ** 3) ** [a:b]", "not not [a:b] > 1 or [a:b] and ([a:b] or 1)", "'A' == [s:x]",
                 "[a:b] * 1e999 + 0.1 + 1e-300", "min([a:b], -(1 + 2), where([a:b] != 1, 2, 3))"):
        e = parse(text)
        again = parse(e.canonical)
        assert again.root == e.root and again.references == e.references, (text, e.canonical)
    assert parse("[a:b]*(1+2)").canonical == "[a:b] * (1 + 2)"


def test_math_channel_names_are_matlab_identifiers() -> None:
    for good in ("brake_bias", "a", "Speed_kmh2", "x" * 63):
        check_name(good)
    for bad, pos in (("2fast", 0), ("brake-bias", 5), ("_x", 0), ("", 0), ("x" * 64, 0), ("é", 0)):
        with pytest.raises(MathError) as caught:
            check_name(bad)
        assert caught.value.position == pos and "\n" not in str(caught.value)
