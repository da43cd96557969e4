"""The grammar of math expressions (lark, LALR(1): linear time, no backtracking).

Anything the grammar does not describe is a syntax error: there is no name lookup, no
attribute access, no subscript but a `[topic:path]` signal reference, nothing that reaches
Python. Precedence, loosest first: `or`, `and`, `not`, comparisons (not chained), `+ -`,
`* /`, unary minus, `**` (right-associative; `-2 ** 2` is -4, as in Python).
"""

from __future__ import annotations

from functools import cache

from lark import Lark

GRAMMAR = r"""
?start: or_test

?or_test: and_test (_OR and_test)*
?and_test: not_test (_AND not_test)*
?not_test: NOT not_test | comparison
?comparison: sum (COMP_OP sum)?
?sum: product ((PLUS | MINUS) product)*
?product: unary ((STAR | SLASH) unary)*
?unary: MINUS unary | power
?power: atom (_POW unary)?
?atom: NUMBER | STRING | SIGNAL | NAME | call | "(" or_test ")"
call: NAME "(" _args? ")"
_args: or_test ("," or_test)*

_OR: "or"
_AND: "and"
NOT: "not"
COMP_OP: "<=" | ">=" | "==" | "!=" | "<" | ">"
PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
_POW: "**"
NUMBER: /([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?/
STRING: /"[^"\r\n]*"|'[^'\r\n]*'/
SIGNAL: /\[[^\[\]\s]+(\[[0-9]{1,6}\])?\]/
NAME: /[A-Za-z_][A-Za-z0-9_]*/

%ignore /[ \t\r\n]+/
"""


@cache
def parser() -> Lark:
    """Built once per process (~20 ms)."""
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)
