"""Errors a caller can show as one line: the file is unusable as a whole.

Damage inside a usable file is never raised; it is counted in `Recording.skipped`.
"""

from __future__ import annotations


class McapReadError(Exception):
    """The input cannot be read as a recording; `str(exc)` is a one-line reason."""


class NotMcapError(McapReadError):
    """The input does not start with the MCAP magic (or is too short to hold it)."""
