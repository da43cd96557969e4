"""What a run needs from its recording, gathered pass by pass within a memory budget.

A test day's files reach a few GB, and every column of such a file decoded at once does
not fit the small instance the team runs on. So a file whose columns would pass
`Settings.ingest_memory_mb` is read in passes over groups of topics (each group's
columns within the budget; `plan_passes`), and from each pass ingest keeps only what
the run document and the signal statistics need (`Digest`), after its topics went to
the signal store. A file that fits is one pass, as before. Plain functions: no I/O
beyond reading the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pitwall.common.catalogue import Catalogue, states_of
from pitwall.common.columns import Recording, TopicColumns
from pitwall.common.contracts.documents import ChannelDoc, LapDoc
from pitwall.common.selection import Selection
from pitwall.ingest import eventrules
from pitwall.ingest.eventrules import RuleSet
from pitwall.ingest.stats import channel_summaries, recording_stats, signal_key
from pitwall.ingest.track import (
    TrackView,
    derive_track,
    find_gps,
    find_lap_counter,
    find_lap_timer,
    laps_from_counter,
    laps_from_timer,
)

# Bytes per row a decoded column takes, by kind (strings: an int32 id per row plus the
# distinct texts, which telemetry strings keep few of).
_ROW_BYTES = {"double": 8, "int64": 8, "uint64": 8, "single": 4, "int32": 4, "uint32": 4, "enum": 4, "logical": 1,
              "string": 4}
# A repeated field's width is known only once decoded. 16 overestimates the synth car's
# (a 10-minute file: 200 MB estimated, 134 MB decoded) and underestimates only the
# battery's 126 cell voltages, which at 10 Hz stay small against the budget.
_REPEATED_WIDTH_GUESS = 16
# A channel whose fields are unknown before decoding (JSON without a schema).
_UNKNOWN_ROW_BYTES = 256
# The decoder's working buffers and the copies made while columns are finished.
_OVERHEAD = 2.0
# Compressed MCAP seldom expands past this: below budget / this, no planning scan at all.
_EXPANSION_GUESS = 4


def plan_passes(path: str | Path, budget_bytes: int) -> list[Selection | None]:
    """Topic groups to read one pass each; `[None]`: one pass of everything."""
    from pitwall.common.mcapread import scan_summary

    if Path(path).stat().st_size * _EXPANSION_GUESS <= budget_bytes:
        return [None]
    info = scan_summary(path, signals=True)
    need: dict[str, float] = {}
    for ch in info.channels:
        if ch.signals:
            row = 8 + sum(
                8 * _REPEATED_WIDTH_GUESS if s.repeated else _ROW_BYTES.get(s.kind, 8) for s in ch.signals
            )
        else:
            row = _UNKNOWN_ROW_BYTES
        need[ch.topic] = need.get(ch.topic, 0.0) + ch.message_count * row * _OVERHEAD
    # First fit, biggest first; a topic bigger than the budget alone gets a pass alone.
    bins: list[tuple[float, list[str]]] = []
    for topic in sorted(need, key=lambda t: (-need[t], t)):
        for i, (used, topics) in enumerate(bins):
            if used + need[topic] <= budget_bytes:
                bins[i] = (used + need[topic], [*topics, topic])
                break
        else:
            bins.append((need[topic], [topic]))
    if len(bins) <= 1:
        return [None]
    return [Selection(topics="^(?:" + "|".join(re.escape(t) for t in sorted(topics)) + ")$") for _, topics in bins]


@dataclass
class Digest:
    """The parts of a recording a run document and its statistics are made of."""

    # Whole-file facts (origin, message count, damage, metadata), as a Recording
    # without columns: also what the signal store's manifest is written from.
    file: Recording = field(default_factory=lambda: Recording(topics={}, origin_ns=None))
    start_ns: int | None = None
    end_ns: int | None = None
    channels: list[ChannelDoc] = field(default_factory=list)
    signal_keys: list[str] = field(default_factory=list)
    stats: list[dict[str, Any]] = field(default_factory=list)
    passes: int = 0
    # The event rules evaluated on each pass, and what they found so far (small).
    rules: RuleSet = field(default_factory=RuleSet)
    # The channel catalogue: its state names count for state rules.
    catalogue: Catalogue | None = None
    _found: dict[str, eventrules.Found] = field(default_factory=dict)
    # The track's topic with only its time, latitude and longitude columns.
    _gps: TopicColumns | None = None
    # The car's lap timer (lap number + clock) or, failing that, a lap counter.
    _timer: tuple[TopicColumns, str, str] | None = None
    _counter: tuple[TopicColumns, str] | None = None

    @classmethod
    def of(cls, rec: Recording, rules: RuleSet | None = None) -> Digest:
        digest = cls(rules=rules or RuleSet())
        digest.add(rec)
        return digest

    def add(self, rec: Recording) -> None:
        """Take one pass's recording (a group of topics, or all of them)."""
        f = self.file
        if self.passes == 0:
            # Every pass reads the same file and reports these alike.
            f.metadata, f.truncated = rec.metadata, rec.truncated
            f.lost_tail_bytes, f.source_size = rec.lost_tail_bytes, rec.source_size
        seen = {(s.what, s.reason, s.count) for s in f.skipped}
        f.skipped += [s for s in rec.skipped if (s.what, s.reason, s.count) not in seen]
        self.passes += 1
        f.message_count += rec.message_count
        if rec.origin_ns is not None:
            f.origin_ns = rec.origin_ns if f.origin_ns is None else min(f.origin_ns, rec.origin_ns)
        for t in rec.topics.values():
            if t.count:
                first, last = int(t.log_time_ns.min()), int(t.log_time_ns.max())
                self.start_ns = first if self.start_ns is None else min(self.start_ns, first)
                self.end_ns = last if self.end_ns is None else max(self.end_ns, last)
        self.channels += channel_summaries(rec)
        self.signal_keys += [signal_key(t.topic, p) for t in rec.topics.values() for p in t.signals]
        self.stats += recording_stats(rec)
        eventrules.evaluate(self.rules, rec, self._found, self._states(rec))
        found = find_gps(rec)
        if found is not None:
            topic, lat, lon = found
            cols = rec.topics[topic]
            if self._gps is None or cols.count > self._gps.count:
                self._gps = TopicColumns(
                    topic, cols.schema_name, cols.encoding, cols.log_time_ns, {lat.path: lat, lon.path: lon}
                )
        timer = find_lap_timer(rec)
        if timer is not None and self._timer is None:
            topic, number, clock = timer
            cols = rec.topics[topic]
            kept = TopicColumns(topic, cols.schema_name, cols.encoding, cols.log_time_ns,
                                {number.path: number, clock.path: clock})
            self._timer = (kept, number.path, clock.path)
        counter = find_lap_counter(rec)
        if counter is not None and self._counter is None:
            topic, number = counter
            cols = rec.topics[topic]
            self._counter = (TopicColumns(topic, cols.schema_name, cols.encoding, cols.log_time_ns,
                                          {number.path: number}), number.path)

    def _states(self, rec: Recording) -> dict[str, dict[int, str]] | None:
        """The catalogue's state names of this pass's signals (None when no rule needs them)."""
        if self.catalogue is None or self.catalogue.empty or not any(
            isinstance(r, eventrules.StateRule) for r in self.rules.rules
        ):
            return None
        start = None if rec.origin_ns is None else datetime.fromtimestamp(rec.origin_ns / 1e9, UTC)
        topics = {t.topic: t.schema_name for t in rec.topics.values()}
        keys = [signal_key(t.topic, p) for t in rec.topics.values() for p in t.signals]
        info = self.catalogue.for_run(start, topics, keys)
        return {k: states_of(v) for k, v in info.items() if v.get("states")}

    @property
    def rule_events(self) -> list[dict[str, Any]]:
        """What the rules found over every pass (kind, start_s, end_s, rule, note)."""
        return eventrules.finish(self.rules, self._found)

    @property
    def topics(self) -> list[str]:
        return sorted({c["topic"] for c in self.channels})

    def track(self) -> TrackView | None:
        if self._gps is None:
            return None
        return derive_track(Recording(topics={self._gps.topic: self._gps}, origin_ns=self.file.origin_ns))

    def laps(self, track: TrackView | None) -> list[LapDoc]:
        """The car's lap timer where it has one (it knows its own line), else the laps
        found in the GPS track, else a lap counter's steps; distances from the GPS."""
        origin = self.file.origin_ns or 0
        if self._timer is not None:
            cols, number, clock = self._timer
            t = (cols.log_time_ns - origin) / 1e9
            laps = laps_from_timer(t, cols.signals[number].values, cols.signals[clock].values, clock)
            if laps:
                for lap in laps:
                    lap["distance_m"] = track.distance_between(lap["start_s"], lap["end_s"]) if track else None
                return laps
        if track is not None and track.laps:
            return track.laps
        if self._counter is not None:
            cols, number = self._counter
            return laps_from_counter((cols.log_time_ns - origin) / 1e9, cols.signals[number].values)
        return []
