"""CAN description bytes -> `CanSource`, through cantools (no parser of our own)."""

from __future__ import annotations

import re
from datetime import date

import cantools

from pitwall.common.catalogue.errors import CatalogueError
from pitwall.common.catalogue.formats import detect_format
from pitwall.common.catalogue.model import CanMessage, CanSignal, CanSource

_MAX_ERROR = 300  # characters of a cantools message kept in the one-line error
_QUOTED = re.compile(r"'([^']+)'")


def _text(data: bytes) -> str:
    # DBC files from Vector tools are often cp1252; latin-1 decodes any byte, so a binary
    # upload reaches the format check and fails there with a message, not a UnicodeError.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _one_line(filename: str, text: str, problem: str) -> str:
    line = " ".join(problem.split())
    if len(line) > _MAX_ERROR:
        line = line[: _MAX_ERROR - 1] + "…"
    if "line" not in line:
        # cantools names a missing element ("Enum 'unsigend' is not defined.") without its
        # line: point at the first line that mentions it.
        for name in _QUOTED.findall(line):
            for number, content in enumerate(text.splitlines(), start=1):
                if name in content:
                    return f"{filename}: {line} (line {number})"
    return f"{filename}: {line}"


def _states(choices: object) -> dict[int, str]:
    if not isinstance(choices, dict):
        return {}
    # cantools gives NamedSignalValue values; keep plain str so the result is storable.
    return {int(code): str(getattr(v, "name", v)) for code, v in choices.items()}


def _signal(sig: cantools.database.can.Signal) -> CanSignal:
    return CanSignal(
        name=sig.name,
        unit=sig.unit or None,
        description=sig.comment or None,
        factor=float(sig.scale),
        offset=float(sig.offset),
        states=_states(sig.choices),
    )


def load_can_source(
    data: bytes, filename: str, *, valid_from: date | None = None, version: int = 0
) -> CanSource:
    """Read a SYM, DBC, KCD or ARXML description; CatalogueError (one line) when unusable."""
    text = _text(data)
    fmt = detect_format(text, filename)
    try:
        db = cantools.database.load_string(text, database_format=fmt, strict=False)
    except Exception as exc:  # any failure of the parser on an upload is bad input
        raise CatalogueError(_one_line(filename, text, str(exc))) from exc
    if not isinstance(db, cantools.database.can.Database):  # cdd (diagnostics) is never asked for
        raise CatalogueError(f"{filename}: not a CAN description")
    messages = tuple(
        CanMessage(
            name=m.name,
            frame_id=int(m.frame_id),
            description=m.comment or None,
            signals=tuple(_signal(s) for s in m.signals),
        )
        for m in db.messages
    )
    if not messages:
        # cantools accepts a file cut before its message section; storing it would silently
        # name nothing, so say so.
        raise CatalogueError(f"{filename}: no CAN message defined ({fmt.upper()} file cut short?)")
    return CanSource(
        name=filename, format=fmt, messages=messages, valid_from=valid_from, version=version
    )
