"""Rules that mark events on a run while ingest reads it (see event_rules.toml).

Loaded once at start-up from one TOML file (the shipped one, or `PITWALL_EVENT_RULES`),
validated so a bad rule stops ingest with its name and what is wrong instead of making
no events unnoticed. Evaluated on each pass's decoded columns (`Digest.add`): only the
small list of ranges found is kept, never the columns.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from pitwall.common.columns import Recording, Signal
from pitwall.common.runevents import KIND_MAX, NOTE_MAX
from pitwall.common.selection import Selection

DEFAULT_FILE = Path(__file__).with_name("event_rules.toml")
_PLACEHOLDERS = {"topic": "T", "path": "p", "signal": "T:p", "state": "S", "limit": 1.0, "peak": 1.0, "duration_s": 1.0}


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file and the rule."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    kind: str = Field(min_length=1, max_length=KIND_MAX)
    signal: str = Field(min_length=1, max_length=500)
    note: str = Field(default="", max_length=NOTE_MAX)
    min_duration_s: float = Field(default=0.0, ge=0)
    max_events: int = Field(default=50, ge=1, le=1000)

    @model_validator(mode="after")
    def _note_fills_in(self) -> _Rule:
        try:
            self.note.format(**_PLACEHOLDERS)
        except (KeyError, IndexError, ValueError) as exc:
            placeholders = ", ".join("{" + k + "}" for k in _PLACEHOLDERS)
            raise ValueError(f"note {self.note!r} cannot be filled in ({exc!r}); use {placeholders}") from None
        return self


class StateRule(_Rule):
    """An enum signal in a state whose name matches `state`."""

    type: Literal["state"]
    state: str = Field(min_length=1, max_length=200)

    def hits(self, sig: Signal, states: Mapping[int, str] | None = None) -> tuple[np.ndarray, dict[str, Any]] | None:
        """`states`: the catalogue's state names of the signal (a CAN description names the
        states of an integer field too); else the schema's enum names."""
        names = states or (sig.enum_names if sig.kind == "enum" else None)
        if not names or sig.repeated or sig.kind in ("string", "double", "single"):
            return None
        codes = {code: name for code, name in names.items() if fnmatchcase(name.upper(), self.state.upper())}
        if not codes:
            return None
        values = np.asarray(sig.values)
        return np.isin(values, list(codes)), {"names": codes, "values": values}


class LimitRule(_Rule):
    """A numeric signal above and/or below a limit."""

    type: Literal["limit"]
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _has_limit(self) -> LimitRule:
        if self.above is None and self.below is None:
            raise ValueError("a limit rule needs `above` or `below` (or both)")
        return self

    def hits(self, sig: Signal, states: Mapping[int, str] | None = None) -> tuple[np.ndarray, dict[str, Any]] | None:
        if sig.kind in ("string", "logical", "enum"):
            return None
        values = np.asarray(sig.values, dtype=np.float64)
        hit = np.zeros(values.shape[0], dtype=bool)
        with np.errstate(invalid="ignore"):
            if self.above is not None:
                past = values > self.above
                hit |= past.any(axis=1) if past.ndim == 2 else past
            if self.below is not None:
                past = values < self.below
                hit |= past.any(axis=1) if past.ndim == 2 else past
        return hit, {"values": values}


Rule = Annotated[StateRule | LimitRule, Field(discriminator="type")]
_RULE: TypeAdapter[StateRule | LimitRule] = TypeAdapter(Rule)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[StateRule | LimitRule, ...] = ()
    source: str = ""


def load_rules(path: str | Path | None = None) -> RuleSet:
    """The rules of a TOML file (default: the shipped set); RuleError names what is wrong."""
    file = Path(path) if path else DEFAULT_FILE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleError(f"event rules {file}: cannot read it: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RuleError(f"event rules {file}: not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise RuleError(f"event rules {file}: unknown top-level key(s) {', '.join(extra)}: rules are [[rule]] tables")
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise RuleError(f"event rules {file}: `rule` must be an array of tables ([[rule]])")
    rules: list[StateRule | LimitRule] = []
    for i, table in enumerate(tables, start=1):
        label = f"rule {i}" + (f" ({table['name']!r})" if isinstance(table.get("name"), str) else "")
        try:
            rule = _RULE.validate_python(table)
        except ValidationError as exc:
            problems = "; ".join(_problem(e["loc"], e["msg"]) for e in exc.errors())
            raise RuleError(f"event rules {file}: {label}: {problems}") from None
        if any(r.name == rule.name for r in rules):
            raise RuleError(f"event rules {file}: {label}: a rule named {rule.name!r} comes earlier")
        rules.append(rule)
    return RuleSet(tuple(rules), str(file))


def _problem(loc: tuple[Any, ...], msg: str) -> str:
    # A tagged union puts the tag first ("limit", "above"): the field is what people wrote.
    if loc and loc[0] in ("state", "limit"):
        loc = loc[1:]
    msg = msg.removeprefix("Value error, ")
    if not loc:  # the rule as a whole (a check across fields), or its type
        return msg if "tag" not in msg else f"type: {msg}"
    return f"{'.'.join(str(p) for p in loc)}: {msg}"


# -- evaluation ----------------------------------------------------------------------
def _ranges(hit: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) row of each run of consecutive True values."""
    if not hit.any():
        return []
    edges = np.diff(np.concatenate(([0], hit.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


@dataclass
class Found:
    """Events one rule found so far on a run (at most its cap kept, the rest counted)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    more: int = 0


def evaluate(
    rules: RuleSet, rec: Recording, found: dict[str, Found], states: Mapping[str, Mapping[int, str]] | None = None
) -> None:
    """Add the ranges each rule holds on in this pass's topics to `found` (by rule name).

    `states`: state names by signal key from the channel catalogue (state rules match them)."""
    origin = rec.origin_ns or 0
    for rule in rules.rules:
        acc = found.setdefault(rule.name, Found())
        signals = Selection(signals=(rule.signal,))  # the glob means what it means in exports
        for cols in rec.topics.values():
            if not cols.count:
                continue
            t = (cols.log_time_ns - origin) / 1e9
            for sig in cols.signals.values():
                if not signals.wants_signal(cols.topic, sig.path):
                    continue
                got = rule.hits(sig, (states or {}).get(f"{cols.topic}:{sig.path}"))
                if got is None:
                    continue
                hit, extra = got
                for lo, hi in _ranges(hit):
                    start, end = float(t[lo]), float(t[hi])
                    if end - start < rule.min_duration_s:
                        continue
                    if len(acc.events) >= rule.max_events:
                        # Keep the earliest: drop the latest kept or this one.
                        latest = max(range(len(acc.events)), key=lambda k: acc.events[k]["start_s"])
                        acc.more += 1
                        if acc.events[latest]["start_s"] <= start:
                            continue
                        del acc.events[latest]
                    acc.events.append(_event(rule, cols.topic, sig, start, end, lo, hi, extra))


def _event(
    rule: StateRule | LimitRule, topic: str, sig: Signal, start: float, end: float, lo: int, hi: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    values = extra["values"][lo : hi + 1]
    fill: dict[str, Any] = {"topic": topic, "path": sig.path, "signal": f"{topic}:{sig.path}", "state": "",
                            "limit": None, "peak": float("nan"), "duration_s": end - start}
    if isinstance(rule, StateRule):
        fill["state"] = extra["names"].get(int(values[0]), "")
    else:
        fill["limit"] = rule.above if rule.above is not None else rule.below
        finite = values[np.isfinite(values)]
        if finite.size:
            up = rule.above is not None and (rule.below is None or finite.max() > rule.above)
            fill["peak"] = float(finite.max() if up else finite.min())
    # Not rounded: an export cut to the event must still include its first and last sample.
    return {"kind": rule.kind, "start_s": start, "end_s": end, "rule": rule.name,
            "note": _note(rule, fill)}


def _note(rule: StateRule | LimitRule, fill: dict[str, Any]) -> str:
    text = rule.note.format(**fill) if rule.note else f"{rule.name}: {fill['signal']}"
    return re.sub(r"\s+", " ", text).strip()[:NOTE_MAX]


def finish(rules: RuleSet, found: dict[str, Found]) -> list[dict[str, Any]]:
    """The events of a run, by start time; a capped rule's last event says how many more."""
    out: list[dict[str, Any]] = []
    for rule in rules.rules:
        acc = found.get(rule.name)
        if acc is None or not acc.events:
            continue
        events = sorted(acc.events, key=lambda e: (e["start_s"], e["end_s"]))
        if acc.more:
            tail = f" (+{acc.more} more not marked: at most {rule.max_events} per run)"
            events[-1] = {**events[-1], "note": (events[-1]["note"][: NOTE_MAX - len(tail)] + tail)}
        out += events
    return sorted(out, key=lambda e: (e["start_s"], e["end_s"], e["rule"]))
