"""Checks across definitions: unknown math channels, cycles (named, with their position),
long chains without recursion, and which definitions depend on one."""

from __future__ import annotations

import numpy as np
import pytest

from pitwall.common.mathchannels import (
    DefinitionError,
    Expression,
    MathError,
    Series,
    check_definitions,
    dependents,
    evaluate,
    evaluation_order,
    parse,
)


def defs(**texts: str) -> dict[str, Expression]:
    return {name: parse(text) for name, text in texts.items()}


def test_sound_definitions_pass() -> None:
    check_definitions(defs(speed_kmh="[vn:speed] * 3.6", power="[bms:v] * [bms:i]",
                           energy="integ([math:power])", both="[math:energy] / [math:speed_kmh]"))
    check_definitions({})


def test_an_unknown_math_channel_is_named_with_its_position() -> None:
    with pytest.raises(DefinitionError) as caught:
        check_definitions(defs(a="[x:y] + 2 * [math:nope]"))
    exc = caught.value
    assert exc.definition == "a" and exc.position == 12 and "[math:nope]" in str(exc) and "\n" not in str(exc)


@pytest.mark.parametrize(("texts", "cycle", "position"), [
    ({"a": "[math:a] + [x:y]"}, "a -> a", 0),
    ({"a": "[x:y] + [math:b]", "b": "[math:a] * 2"}, "a -> b -> a", 8),
    ({"a": "[x:y] + [math:b]", "b": "[math:c] * 2", "c": "1 + [math:a]"}, "a -> b -> c -> a", 8),
    # the edited definition first: the cycle is told from it
    ({"c": "1 + [math:a]", "a": "[x:y] + [math:b]", "b": "[math:c] * 2"}, "c -> a -> b -> c", 4),
    # a cycle not through the first definition
    ({"ok": "[math:p] + [x:y]", "p": "[math:q]", "q": "[math:p]"}, "p -> q -> p", 0),
])
def test_cycles_are_named(texts: dict[str, str], cycle: str, position: int) -> None:
    with pytest.raises(DefinitionError) as caught:
        check_definitions(defs(**texts))
    exc = caught.value
    assert f"cycle: {cycle}" in str(exc) and exc.position == position
    assert exc.definition == cycle.split(" -> ")[0]


def test_a_bad_name_is_refused() -> None:
    with pytest.raises(MathError, match="MATLAB identifier"):
        check_definitions(defs(**{"brake-bias": "[a:b]"}))


def test_a_long_chain_is_ordered_and_evaluated_without_recursion() -> None:
    n = 3_000
    chain = {"c0": parse("[a:x] + 1")} | {f"c{i}": parse(f"[math:c{i - 1}] + 1") for i in range(1, n)}
    check_definitions(chain)
    order = evaluation_order(chain, [f"c{n - 1}"])
    assert order == [f"c{i}" for i in range(n)]
    t = np.arange(5.0)
    got = evaluate(parse(f"[math:c{n - 1}]"), {"a:x": Series(t, t, "double")}.get, definitions=chain)
    np.testing.assert_array_equal(got.v, t + n)


def test_dependents_are_every_user_in_evaluation_order() -> None:
    d = defs(power="[bms:v] * [bms:i]", energy="integ([math:power])", per_km="[math:energy] / [math:dist]",
             dist="integ([vn:speed])", other="[vn:speed] * 2")
    assert dependents(d, "power") == ["energy", "per_km"]
    assert dependents(d, "dist") == ["per_km"]
    assert dependents(d, "other") == []
