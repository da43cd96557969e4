"""How free text becomes search words, for what ingest stores and what query_api asks.

MongoDB-compatible servers without a text index (SecantusDB) still answer an equality on
an indexed array in one lookup, so a document stores its words and each word's starts
(`prefixes`), and a query cuts its text with the same `words`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Word prefixes shorter than this are not indexed (nor searchable): "l" would match half a season.
PREFIX_MIN = 2
_SPLIT = re.compile(r"[^0-9a-z]+")


def words(text: str, shortest: int = PREFIX_MIN) -> list[str]:
    """Lower-case words, in order (`shortest=1` keeps single letters and digits, for
    matching names such as "lot 5")."""
    return [w for w in _SPLIT.split(text.lower()) if len(w) >= shortest]


def word_set(*texts: str | None) -> list[str]:
    """The sorted distinct words of several texts (None and "" contribute nothing)."""
    return sorted({w for text in texts if text for w in words(text)})


def prefixes(found: Iterable[str]) -> list[str]:
    """Each word and its starts of at least PREFIX_MIN characters: stored beside a
    document, they let an equality on one index find a word from its first letters."""
    out: set[str] = set()
    for word in found:
        out.update(word[:n] for n in range(PREFIX_MIN, len(word) + 1))
    return sorted(out)
