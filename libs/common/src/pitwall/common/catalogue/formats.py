"""Which CAN description format a file is in: its content first, then its extension.

Content wins because uploads are often renamed (`hytech.txt`, `export`); the extension is the
fallback for a file whose opening says nothing (a DBC that starts with a comment line).
"""

from __future__ import annotations

import re
from pathlib import PurePath

from pitwall.common.catalogue.errors import CatalogueError

FORMATS = ("sym", "dbc", "kcd", "arxml")

_DBC_OPENING = re.compile(r'^\s*(VERSION\s+"|NS_\s*:|BU_\s*:|BO_\s+\d)', re.MULTILINE)


def detect_format(text: str, filename: str) -> str:
    """The cantools format name of `text`; CatalogueError when neither content nor name tells."""
    head = text[:4096]
    if head.lstrip("\ufeff \t\r\n").startswith("FormatVersion="):
        return "sym"
    if "<NetworkDefinition" in head:
        return "kcd"
    if "<AUTOSAR" in head:
        return "arxml"
    if _DBC_OPENING.search(head):
        return "dbc"
    ext = PurePath(filename).suffix.lower().lstrip(".")
    if ext in FORMATS:
        return ext
    raise CatalogueError(
        f"{filename}: not a CAN description: neither its content nor its extension is one of "
        "SYM, DBC, KCD or ARXML"
    )
