"""The limits every expression is held to, checked before anything is evaluated."""

MAX_CHARS = 2_000
MAX_NESTING = 64  # open parentheses at any point, and operators or calls inside one another
MAX_SIGNALS = 16  # distinct references, `math:` channels included
