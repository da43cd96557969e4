"""A run's catalogue: which source applies, what it says, what edits and schemas add.

Precedence, per field (unit, description, display name, states): a catalogue edit, then the
CAN description that applies to the run (`pick_source`), then the MCAP's own schema
(protobuf enum names, JSON-schema `unit`/`description`). Renames (`old key -> new key`,
declared by an edit's `renamed_to`) join keys into one name group: an edit of any name of
the group applies to all of them, and a request for any name finds the run's signal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pitwall.common.catalogue.matching import match
from pitwall.common.catalogue.model import CanSource, CatalogueEntry
from pitwall.common.catalogue.validity import pick_source
from pitwall.common.contracts.signalinfo import INFO_FIELDS, SignalInfo, states_json


def can_origin(name: str, version: int) -> str:
    return f"can:{name}#{version}"


def _entry_info(entry: CatalogueEntry) -> SignalInfo:
    info: SignalInfo = {}
    origin = can_origin(entry.source.name, entry.source.version)
    origins: dict[str, str] = {}
    if entry.unit:
        info["unit"] = entry.unit
        origins["unit"] = origin
    if entry.description:
        info["description"] = entry.description
        origins["description"] = origin
    if entry.display_name:
        info["display_name"] = entry.display_name
        origins["display_name"] = origin
    if entry.states:
        info["states"] = states_json(entry.states)
        origins["states"] = origin
    if origins:
        info["origins"] = origins
    return info


def overlay(base: SignalInfo | None, top: Mapping[str, Any] | None, origin: str | None = None) -> SignalInfo:
    """`base` with the fields `top` sets on top of it (`origin` labels them, else `top`'s own)."""
    out: SignalInfo = dict(base or {})  # type: ignore[assignment]
    if not top:
        return out
    origins = dict(out.get("origins") or {})
    top_origins = top.get("origins") or {}
    for name in INFO_FIELDS:
        value = top.get(name)
        if value:
            out[name] = value  # type: ignore[literal-required]
            origins[name] = origin or top_origins.get(name) or "schema"
    if origins:
        out["origins"] = origins
    return out


def name_groups(renames: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Each key named by a rename -> every name of its group (the key first, then the rest
    in rename order). Chains and merges (a -> b, b -> c) are one group."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    order: list[str] = []
    for old, new in renames.items():
        for k in (old, new):
            if k not in parent:
                order.append(k)
        parent[find(old)] = find(new)
    members: dict[str, list[str]] = {}
    for k in order:
        members.setdefault(find(k), []).append(k)
    return {k: (k, *[m for m in members[find(k)] if m != k]) for k in order}


@dataclass(frozen=True)
class Catalogue:
    """Everything the catalogue holds, as read by one reader at one generation."""

    sources: tuple[CanSource, ...] = ()
    # Per key: the edited fields (SignalInfo fields; `renamed_to` is read into `renames`).
    edits: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    renames: Mapping[str, str] = field(default_factory=dict)  # old key -> new key
    generation: int = 0
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", name_groups(self.renames))

    @property
    def empty(self) -> bool:
        return not self.sources and not self.edits

    def names(self, key: str) -> tuple[str, ...]:
        """`key` and every other name it has through renames (`key` first)."""
        return self.groups.get(key, (key,))

    def aliases(self, keys: Iterable[str]) -> dict[str, list[str]]:
        """The other names of each of `keys` that has any."""
        return {k: list(self.names(k)[1:]) for k in keys if len(self.names(k)) > 1}

    def applicable(self, recorded_start: datetime | date | None) -> list[CanSource]:
        """The sources that may apply to a run started then, the one that wins first: for each
        signal, the first of them that names it (`pick_source`'s order, repeated)."""
        left = list(self.sources)
        out: list[CanSource] = []
        while left:
            best = pick_source(left, recorded_start)
            if best is None:
                break
            out.append(best)
            left = [s for s in left if s is not best]
        return out

    def edit_of(self, key: str) -> Mapping[str, Any] | None:
        for name in self.names(key):
            found = self.edits.get(name)
            if found and any(found.get(f) for f in INFO_FIELDS):
                return found
        return None

    def for_run(
        self,
        recorded_start: datetime | date | None,
        topics: Mapping[str, str | None],
        keys: Iterable[str],
        schema: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, SignalInfo]:
        """The info of each of `keys` that anything says something about.

        `topics` maps the run's topics to their schema names (the matching rule needs them);
        `schema` holds what the MCAP's own schema says per key (`SignalInfo` fields)."""
        keys = list(keys)
        from_can: dict[str, CatalogueEntry] = {}
        rest = keys
        for source in self.applicable(recorded_start):
            if not rest:
                break
            from_can.update(match(source, topics, rest))
            rest = [k for k in rest if k not in from_can]
        out: dict[str, SignalInfo] = {}
        for key in keys:
            info = overlay(None, (schema or {}).get(key), "schema")
            entry = from_can.get(key)
            if entry is not None:
                info = overlay(info, _entry_info(entry))
            if self.edits:
                info = overlay(info, self.edit_of(key), "edit")
            if info:
                out[key] = info
        return out
