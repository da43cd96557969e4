"""MATLAB names for topics and fields: the rule of the MAT contract, plus collision handling.

The rule (issue 8): every character outside `[A-Za-z0-9_]` becomes `_`; a name that does
not start with a letter gets the prefix `x`; a name over 63 characters is cut to 54
characters + `_` + the first 8 hex digits of the SHA-1 of the full original name (UTF-8).
MATLAB keywords (`end`, `for`, ...) are not valid field names either, so they get the `x`
prefix too (`end` -> `xend`).

Two sources can map onto one name (`a.b` and `a_b`, or a topic called `meta`). Within one
scope, `allocate` keeps a name unchanged for every source that already was a valid name
(those cannot collide with each other), then hands out the rest in sorted order of the
source name; a name already taken (or reserved) gets `_2`, `_3`, ... (cut so the result
stays within 63 characters). The outcome depends only on the set of names, never on the
order a reader happened to produce them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

MAX_LEN = 63
_CUT = 54
_INVALID = re.compile(r"[^A-Za-z0-9_]")
_VALID = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}\Z")

# `iskeyword` in MATLAB R2024a.
MATLAB_KEYWORDS = frozenset(
    {
        "break", "case", "catch", "classdef", "continue", "else", "elseif", "end", "for",
        "function", "global", "if", "otherwise", "parfor", "persistent", "return", "spmd",
        "switch", "try", "while", "arguments",
    }
)  # fmt: skip


def short_hash(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]


def matlab_name(name: str) -> str:
    """The MATLAB-valid name for one source name (no collision handling)."""
    out = _INVALID.sub("_", name)
    if not out[:1].isalpha() or not out[:1].isascii() or out in MATLAB_KEYWORDS:
        out = "x" + out
    if len(out) > MAX_LEN:
        out = out[:_CUT] + "_" + short_hash(name)
    return out


def is_valid_name(name: str) -> bool:
    return bool(_VALID.match(name)) and name not in MATLAB_KEYWORDS


def _with_suffix(base: str, n: int) -> str:
    suffix = f"_{n}"
    return base[: MAX_LEN - len(suffix)] + suffix


def allocate(
    names: Sequence[str], reserved: Iterable[str] = (), *, sources: Sequence[str] | None = None
) -> list[str]:
    """Unique MATLAB names for `names` (same order); none equal to a `reserved` name.

    `sources`, when given, are the original identifiers behind `names` (the pairs layout
    names `a.b` as `a_b`): they decide who keeps a contested name and the order the rest
    are numbered in. Duplicate entries are allowed (a path that is both a leaf and a
    branch); the first of them in input order keeps the plain name.
    """
    keys = names if sources is None else sources
    taken = set(reserved)
    result: list[str | None] = [None] * len(names)
    # Sources that already are valid names keep them, unless reserved.
    order = sorted(range(len(names)), key=lambda i: (not is_valid_name(keys[i]), keys[i], i))
    for i in order:
        base = matlab_name(names[i])
        candidate = base
        n = 2
        while candidate in taken:
            candidate = _with_suffix(base, n)
            n += 1
        taken.add(candidate)
        result[i] = candidate
    return [r for r in result if r is not None]
