"""An oracle of the team's CAN description: each signal's unit read from the .sym text itself."""

from __future__ import annotations

import re

_DEFINITION = re.compile(r"Sig=(\S+) (?:unsigned|signed|float|double|bit|char|string|raw)\b(.*)")


def sym_units(text: str) -> dict[str, str | None]:
    """Signal name -> its `/u:` unit (None without one), from the {SIGNALS} definitions."""
    section = text.split("{SIGNALS}", 1)[1].split("{SENDRECEIVE}", 1)[0]
    out: dict[str, str | None] = {}
    for line in section.splitlines():
        found = _DEFINITION.match(line)
        if found:
            unit = re.search(r"/u:(\S+)", found.group(2))
            out[found.group(1)] = unit.group(1) if unit else None
    return out
