"""Checks across definitions: every `math:` reference names a definition, and none loops back.

Also the order to evaluate definitions in (each after the ones it uses), shared by `evaluate`.
All walks are iterative, so a long chain of channels cannot exhaust Python's stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pitwall.common.mathchannels.errors import MathError, MissingSignal
from pitwall.common.mathchannels.nodes import MATH_PREFIX, Expression
from pitwall.common.mathchannels.parse import check_name


class DefinitionError(MathError):
    """A fault of one definition among several; `definition` names it, `position` is in its text."""

    def __init__(self, problem: str, position: int | None, definition: str) -> None:
        self.definition = definition
        super().__init__(problem, position)


def check_definitions(defs: Mapping[str, Expression]) -> None:
    """Raise `DefinitionError` (a MathError) for a bad name, a reference to an unknown math
    channel, or a cycle (`a -> b -> a`), naming the definition and the position in its text.
    Definitions are checked in the mapping's order: put the one being edited first."""
    for name, expr in defs.items():
        try:
            check_name(name)
        except MathError as exc:
            raise DefinitionError(f"math:{name[:80]}: {exc.problem}", None, name) from None
        for ref in expr.math_references:
            if ref not in defs:
                raise DefinitionError(f"unknown math channel [math:{ref}]", expr.position_of(MATH_PREFIX + ref), name)
    evaluation_order(defs, defs.keys())


def evaluation_order(defs: Mapping[str, Expression], roots: Iterable[str]) -> list[str]:
    """`roots` and every math channel they use, each after those it uses. A cycle raises
    `DefinitionError`; a name that is not defined raises `MissingSignal(math:<name>)`."""
    done: set[str] = set()
    order: list[str] = []
    for root in roots:
        if root in done:
            continue
        if root not in defs:
            raise MissingSignal(MATH_PREFIX + root)
        path: list[str] = [root]
        on_path = {root}
        pending = [iter(defs[root].math_references)]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                pending.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                order.append(finished)
                continue
            if nxt in done:
                continue
            if nxt in on_path:
                cycle = [*path[path.index(nxt) :], nxt]
                first = cycle[0]
                pos = defs[first].position_of(MATH_PREFIX + cycle[1])
                raise DefinitionError(f"math channels form a cycle: {' -> '.join(cycle)}", pos, first)
            if nxt not in defs:
                user = path[-1]
                raise MissingSignal(MATH_PREFIX + nxt, defs[user].position_of(MATH_PREFIX + nxt), MATH_PREFIX + user)
            path.append(nxt)
            on_path.add(nxt)
            pending.append(iter(defs[nxt].math_references))
    return order


def dependents(defs: Mapping[str, Expression], name: str) -> list[str]:
    """The definitions that use `name`, directly or through others (to recompute after a
    change, or to refuse a delete), in an order where each comes after those it uses."""
    users: dict[str, list[str]] = {}
    for n, expr in defs.items():
        for ref in expr.math_references:
            users.setdefault(ref, []).append(n)
    found: set[str] = set()
    stack = [name]
    while stack:
        for user in users.get(stack.pop(), []):
            if user not in found:
                found.add(user)
                stack.append(user)
    return [n for n in evaluation_order(defs, sorted(found)) if n in found]
