"""What one signal is, as it travels: the API's answers, the export event, the export files.

`SignalInfo` is the serialisable face of a resolved catalogue entry (a plain dict, JSON
keys are strings: state codes are decimal strings). Everything downstream of the catalogue
(query_api's answers, `conversion.requested`, the MAT/CSV/Parquet writers, the clients)
reads this shape and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

from typing_extensions import TypedDict  # pydantic validates it on Python 3.11


class SignalInfo(TypedDict, total=False):
    """Unit, description, display name and state names of one signal key (`topic:path`).

    A field is absent when nothing says it. `origins` names where each present field came
    from: `can:<source name>#<version>`, `schema` (the MCAP's own schema: protobuf enum
    names, JSON-schema `unit`/`description`), `edit` (a catalogue edit) or `math`.
    """

    unit: str
    description: str
    display_name: str
    states: dict[str, str]  # integer code as a decimal string -> state name
    origins: dict[str, str]  # field name -> origin label


INFO_FIELDS = ("unit", "description", "display_name", "states")

# Per signal key (`topic:path`).
SignalInfoMap = Mapping[str, SignalInfo]


def states_of(info: SignalInfo | None) -> dict[int, str]:
    """The state names of `info` with integer codes (empty when it has none)."""
    if not info:
        return {}
    out: dict[int, str] = {}
    for code, name in (info.get("states") or {}).items():
        try:
            out[int(code)] = name
        except ValueError:
            continue
    return out


def states_json(states: Mapping[int, str]) -> dict[str, str]:
    """Integer-keyed state names as SignalInfo holds them (decimal string keys, code order)."""
    return {str(code): str(states[code]) for code in sorted(states)}
