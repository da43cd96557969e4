"""The MCAP format's fixed bytes: every reader, upload check and base-station probe uses these."""

from __future__ import annotations

from typing import Final

# The 8 bytes an MCAP file starts (and, when complete, ends) with.
MAGIC: Final = b"\x89MCAP0\r\n"


def has_magic(head: bytes) -> bool:
    """True when `head` (the first bytes of a file, at least 8) starts like an MCAP file."""
    return head[: len(MAGIC)] == MAGIC
