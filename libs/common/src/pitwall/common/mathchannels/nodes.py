"""The typed syntax tree of a math expression: frozen dataclasses, compared without positions.

Every node keeps `position`, the 0-based character index where it starts in the text, so
that any later error (an unknown state name, a missing signal) points at the right place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MATH_PREFIX = "math:"


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Text:
    """A state name in quotes, only ever compared with == or != to a signal."""

    value: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Signal:
    key: str  # `topic:path`, `topic:path[i]` or `math:<name>`
    position: int = field(default=0, compare=False)

    @property
    def is_math(self) -> bool:
        return self.key.startswith(MATH_PREFIX)


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Arith:
    """`first op1 x1 op2 x2 ...` of one precedence level (`+ -` or `* /`), left to right."""

    first: Node
    rest: tuple[tuple[str, Node], ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Power:
    base: Node
    exponent: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Compare:
    left: Node
    op: str  # < <= > >= == !=
    right: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    position: int = field(default=0, compare=False)


Node = Number | Text | Signal | Negate | Not | Arith | Power | Compare | Logic | Call


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: its text, its tree, and what it uses (in order of first use)."""

    text: str
    root: Node = field(compare=False)
    references: tuple[str, ...] = ()  # distinct signal keys, `math:<name>` included
    functions: tuple[str, ...] = ()

    @property
    def math_references(self) -> tuple[str, ...]:
        """The names (without `math:`) of the math channels this expression uses."""
        return tuple(k[len(MATH_PREFIX) :] for k in self.references if k.startswith(MATH_PREFIX))

    @property
    def canonical(self) -> str:
        """The expression written back in one canonical spelling (spacing, quotes, parentheses)."""
        return unparse(self.root)

    def position_of(self, key: str) -> int | None:
        """Where `key` is first referenced in the text."""
        found = [n.position for n in walk(self.root) if isinstance(n, Signal) and n.key == key]
        return min(found) if found else None


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Negate | Not):
        return (node.operand,)
    if isinstance(node, Arith):
        return (node.first, *(x for _, x in node.rest))
    if isinstance(node, Power):
        return (node.base, node.exponent)
    if isinstance(node, Compare):
        return (node.left, node.right)
    if isinstance(node, Logic):
        return node.operands
    if isinstance(node, Call):
        return node.args
    return ()


def walk(root: Node) -> list[Node]:
    """Every node, parents before children, children in text order (no recursion)."""
    out: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children(node)))
    return out


# Binding strength, loosest first; an operand weaker than its slot needs parentheses.
_LEVEL = {Logic: 1, Not: 3, Compare: 4, Negate: 7, Power: 8}


def _level(node: Node) -> int:
    if isinstance(node, Logic):
        return 1 if node.op == "or" else 2
    if isinstance(node, Arith):
        return 5 if node.rest[0][0] in "+-" else 6
    return _LEVEL.get(type(node), 9)


def _number(value: float) -> str:
    if math.isinf(value):
        return "1e999"  # what the text said (any literal beyond float64's range)
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def unparse(node: Node) -> str:
    """The text of a tree; `parse(unparse(t))` gives `t` back."""

    def slot(child: Node, least: int) -> str:
        text = unparse(child)
        return f"({text})" if _level(child) < least else text

    if isinstance(node, Number):
        return _number(node.value)
    if isinstance(node, Text):
        return f"'{node.value}'" if '"' in node.value else f'"{node.value}"'
    if isinstance(node, Signal):
        return f"[{node.key}]"
    if isinstance(node, Negate):
        return "-" + slot(node.operand, 7)
    if isinstance(node, Not):
        return "not " + slot(node.operand, 3)
    if isinstance(node, Arith):
        least = _level(node) + 1
        return " ".join([slot(node.first, least), *(f"{op} {slot(x, least)}" for op, x in node.rest)])
    if isinstance(node, Power):
        return f"{slot(node.base, 9)} ** {slot(node.exponent, 7)}"
    if isinstance(node, Compare):
        return f"{slot(node.left, 5)} {node.op} {slot(node.right, 5)}"
    if isinstance(node, Logic):
        least = _level(node) + 1
        return f" {node.op} ".join(slot(x, least) for x in node.operands)
    return f"{node.name}({', '.join(unparse(a) for a in node.args)})"
