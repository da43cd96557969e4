"""Text → `Expression`: limits, the lark parse, and the checks a tree must pass.

Errors are `MathError`s with the 0-based position of the first problem in the text.
"""

from __future__ import annotations

import re

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

from pitwall.common.mathchannels.errors import MathError
from pitwall.common.mathchannels.functions import FUNCTIONS
from pitwall.common.mathchannels.grammar import parser
from pitwall.common.mathchannels.limits import MAX_CHARS, MAX_NESTING, MAX_SIGNALS
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
    walk,
)

# A math channel's name, as MATLAB accepts it for a struct field (the MAT export uses it).
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
STATE_HINT = 'e.g. [mcu_status_data:mcu_state] == "READY_TO_DRIVE"'
_TOKEN_WORDS = {"$END": "the end of the expression"}


def check_name(name: str) -> None:
    """A math channel's name: a MATLAB identifier (letter, then letters, digits, _; ≤ 63)."""
    if not NAME_RE.fullmatch(name):
        bad = next((i for i, c in enumerate(name) if not (c.isascii() and (c.isalnum() or c == "_"))), 0)
        raise MathError(f"a math channel's name is a MATLAB identifier (a letter, then letters, digits or _, "
                        f"at most 63), not {name[:80]!r}", bad)


def parse(expression: str) -> Expression:
    """Parse and check one expression; `MathError` names the first problem and its position."""
    if not isinstance(expression, str):
        raise MathError("an expression is text")
    if len(expression) > MAX_CHARS:
        raise MathError(f"the expression is longer than {MAX_CHARS:,} characters ({len(expression):,})", MAX_CHARS)
    if not expression.strip():
        raise MathError("the expression is empty", 0)
    _check_parentheses(expression)
    tree = _lark_parse(expression)
    _check_depth(tree)
    root = _node(tree)
    _check_tree(root)
    return _expression(expression, root)


def _check_parentheses(text: str) -> None:
    """Reject deep parentheses before the parser sees them (strings and [keys] skipped)."""
    depth, i, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            end = text.find(c, i + 1)
            i = n if end < 0 else end
        elif c == "[":
            end = text.find("]", i + 1)
            i = n if end < 0 else end
        elif c == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise MathError(f"parentheses nest deeper than {MAX_NESTING}", i)
        elif c == ")":
            depth = max(depth - 1, 0)
        i += 1


def _describe(token: Token) -> str:
    if token.type in _TOKEN_WORDS:
        return _TOKEN_WORDS[token.type]
    return repr(str(token)[:40])


def _lark_parse(text: str) -> Tree | Token:
    try:
        return parser().parse(text)
    except UnexpectedCharacters as exc:
        pos = exc.pos_in_stream or 0
        char = text[pos] if 0 <= pos < len(text) else ""
        if char == "[":
            raise MathError("a signal reference is [topic:path], without spaces or brackets inside", pos) from None
        if char in "\"'":
            raise MathError("a quoted state name must end on the same line", pos) from None
        raise MathError(f"unexpected character {char!r}", pos) from None
    except UnexpectedToken as exc:
        pos = exc.token.start_pos if exc.token.start_pos is not None else len(text)
        if exc.token.type == "$END":
            raise MathError("the expression ends too early", len(text.rstrip())) from None
        raise MathError(f"unexpected {_describe(exc.token)}", pos) from None
    except UnexpectedEOF:
        raise MathError("the expression ends too early", len(text.rstrip())) from None
    except LarkError as exc:  # anything else lark may say is still a syntax error, in one line
        raise MathError(f"cannot parse the expression ({type(exc).__name__})", 0) from None


def _start(item: Tree | Token) -> int:
    if isinstance(item, Token):
        return item.start_pos or 0
    meta = item.meta
    return meta.start_pos if not meta.empty else 0


def _check_depth(tree: Tree | Token) -> None:
    """Operators and calls nest at most MAX_NESTING deep (measured without recursion)."""
    stack: list[tuple[Tree | Token, int]] = [(tree, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Tree):
            if depth + 1 > MAX_NESTING:
                raise MathError(f"the expression nests deeper than {MAX_NESTING}", _start(item))
            stack.extend((child, depth + 1) for child in item.children)


def _leaf(token: Token) -> Node:
    pos = token.start_pos or 0
    text = str(token)
    if token.type == "NUMBER":
        return Number(float(text), pos)
    if token.type == "STRING":
        return Text(text[1:-1], pos)
    if token.type == "SIGNAL":
        return Signal(_signal_key(text[1:-1], pos), pos)
    raise MathError(f"unknown name {text[:40]!r}: signals are written in brackets, [topic:path]", pos)


def _signal_key(key: str, pos: int) -> str:
    if key.startswith(MATH_PREFIX):
        name = key[len(MATH_PREFIX) :]
        if not NAME_RE.fullmatch(name):
            raise MathError(f"[{key[:60]}] does not name a math channel (math:<MATLAB identifier>)", pos)
        return key
    if key.find(":") <= 0 or key.partition("[")[0].endswith(":"):
        raise MathError(f"a signal reference is [topic:path], not [{key[:60]}]", pos)
    return key


def _node(item: Tree | Token) -> Node:
    """Lark's tree → nodes (recursive: the depth was bounded by `_check_depth`)."""
    if isinstance(item, Token):
        return _leaf(item)
    kids = item.children
    pos = _start(item)
    rule = item.data
    if rule == "call":
        name = kids[0]
        assert isinstance(name, Token)
        return Call(str(name), tuple(_node(k) for k in kids[1:]), name.start_pos or 0)
    if rule == "sum" or rule == "product":
        ops = kids[1::2]
        return Arith(_node(kids[0]), tuple((str(op), _node(x)) for op, x in zip(ops, kids[2::2], strict=True)), pos)
    if rule == "unary":
        return Negate(_node(kids[1]), pos)
    if rule == "not_test":
        return Not(_node(kids[1]), pos)
    if rule == "power":
        return Power(_node(kids[0]), _node(kids[1]), pos)
    if rule == "comparison":
        return Compare(_node(kids[0]), str(kids[1]), _node(kids[2]), pos)
    if rule in ("and_test", "or_test"):
        return Logic("and" if rule == "and_test" else "or", tuple(_node(k) for k in kids), pos)
    raise MathError(f"cannot parse the expression (rule {rule})", pos)


def _check_tree(root: Node) -> None:
    """Functions, their argument counts, state names, smooth's span: the first fault in the text."""
    problems: list[tuple[int, str]] = []
    allowed_texts: set[int] = set()
    for node in walk(root):
        if isinstance(node, Compare) and node.op in ("==", "!="):
            for text, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(text, Text) and isinstance(other, Signal) and not other.is_math:
                    allowed_texts.add(id(text))
    for node in walk(root):
        if isinstance(node, Text) and id(node) not in allowed_texts:
            problems.append((node.position, f"a quoted state name is only compared with == or != to a signal, "
                                            f"{STATE_HINT}"))
        elif isinstance(node, Call):
            arity = FUNCTIONS.get(node.name)
            if arity is None:
                problems.append((node.position, f"unknown function {node.name[:40]!r}"))
            elif not arity.accepts(len(node.args)):
                problems.append((node.position, f"{node.name}() takes {arity.describe()}, not {len(node.args)}"))
            elif node.name == "smooth":
                span = node.args[1]
                if not (isinstance(span, Number) and 0 <= span.value < float("inf")):
                    problems.append((span.position, "smooth(x, seconds) takes its span as a number of seconds ≥ 0, "
                                                    "e.g. smooth([imu:accel.x], 0.5)"))
    if problems:
        pos, problem = min(problems)
        raise MathError(problem, pos)


def _expression(text: str, root: Node) -> Expression:
    nodes = walk(root)
    signals = sorted((n.position, n.key) for n in nodes if isinstance(n, Signal))
    references = tuple(dict.fromkeys(key for _, key in signals))
    if not references:
        raise MathError("the expression names no signal, so it has no times: use at least one [topic:path]", 0)
    if len(references) > MAX_SIGNALS:
        extra = references[MAX_SIGNALS]
        pos = next(p for p, k in signals if k == extra)
        raise MathError(f"the expression uses more than {MAX_SIGNALS} distinct signals", pos)
    calls = sorted((n.position, n.name) for n in nodes if isinstance(n, Call))
    functions = tuple(dict.fromkeys(name for _, name in calls))
    return Expression(text, root, references, functions)
