"""The test oracle for the team's CAN descriptions: facts read from the .sym text itself with
small regexes, never through cantools or pitwall (the code under test)."""

from __future__ import annotations

import re
from pathlib import Path

HYTECH = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "hytech"
SYM_2024 = HYTECH / "hytech-2024-03-26.sym"
SYM_2026 = HYTECH / "hytech-2026-07-16.sym"

# A signal definition in the {SIGNALS} section: `Sig=NAME unsigned 16 -m /u:mbar ...`.
_SIG_DEF = re.compile(r"^Sig=(\S+) (?:unsigned|signed|float|double|bit|char|string|raw|\S+) ")
# A message section opens with `[NAME]`; its signals are `Sig=NAME START` or inline `Var=...`.
_SECTION = re.compile(r"^\[([^\]]+)\]")
_MEMBER = re.compile(r"^(?:Sig|Var)=(\S+)")
_ENUM = re.compile(r"^Enum=(\w+)\((.*)\)$")


def sym_lines(path: Path) -> list[str]:
    # Enum definitions wrap onto indented continuation lines: join them.
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith((" ", "\t")) and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line.rstrip())
    return out


def sym_messages(path: Path) -> dict[str, list[str]]:
    """Message name -> its member signal names, from the message sections of the text."""
    msgs: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in sym_lines(path):
        if (m := _SECTION.match(line)) is not None:
            current = msgs.setdefault(m.group(1), [])
        elif line.startswith("{"):
            current = None
        elif current is not None and (m := _MEMBER.match(line)) is not None:
            current.append(m.group(1))
    return msgs


def sym_definition(path: Path, signal: str) -> str:
    for line in sym_lines(path):
        if line.startswith(f"Sig={signal} ") and _SIG_DEF.match(line):
            return line
    raise AssertionError(f"{signal} not defined in {path.name}")


def sym_unit(path: Path, signal: str) -> str | None:
    m = re.search(r'/u:("[^"]*"|\S+)', sym_definition(path, signal))
    return None if m is None else m.group(1).strip('"')


def sym_enum(path: Path, name: str) -> dict[int, str]:
    for line in sym_lines(path):
        if (m := _ENUM.match(line)) is not None and m.group(1) == name:
            return {int(c): s for c, s in re.findall(r'(\d+)="([^"]*)"', m.group(2))}
    raise AssertionError(f"enum {name} not in {path.name}")


def sym_signal_enum(path: Path, signal: str) -> dict[int, str]:
    """The state names of `signal`, through the enum its definition names (`/e:NAME`)."""
    m = re.search(r"/e:(\w+)", sym_definition(path, signal))
    return {} if m is None else sym_enum(path, m.group(1))


def sym_units(path: Path) -> dict[str, str | None]:
    """Signal name -> its `/u:` unit (None without one), over every definition of the text."""
    out: dict[str, str | None] = {}
    for line in sym_lines(path):
        if (m := _SIG_DEF.match(line)) is not None:
            unit = re.search(r'/u:("[^"]*"|\S+)', line)
            out[m.group(1)] = None if unit is None else unit.group(1).strip('"')
    return out


def sym_comment(path: Path, signal: str) -> str | None:
    """The `//` comment of a signal's definition, if it has one."""
    m = re.search(r"// ?(.*)$", sym_definition(path, signal))
    return None if m is None else m.group(1).strip()
