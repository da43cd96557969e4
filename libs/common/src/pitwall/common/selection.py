"""What part of a recording a reader should return: topics, signals and a time window.

Shared by the converter (CLI and service) and anything else that reads recordings, so
`--topics`, `--signals`, `--start` and `--end` mean the same thing everywhere.

- `topics`: a regular expression searched in the topic name (`re.search`, like the
  mcap CLI's `--include-topic-regex`): `VN` selects `VNData` and `VNStatus`; anchor it
  (`^VNData$`) for one exact topic. `None` selects every topic.
- `signals`: shell-style globs (`fnmatch`, case-sensitive) over `topic:dotted.path`,
  e.g. `VNData:vn_gps.*` or `*:*temp*`. A glob without `:` is matched against the
  path alone, in every topic (`vn_gps.lat`). A repeated field is one signal named by
  its field path (`cells.voltage`, not `cells.voltage[3]`). Empty selects every signal.
  A topic with no selected signal is not returned at all.
- `start_s` / `end_s`: seconds relative to the recording's origin (the log time of
  the first message of the whole file), both inclusive; `None` leaves that side open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Selection:
    topics: str | None = None
    signals: tuple[str, ...] = ()
    start_s: float | None = None
    end_s: float | None = None
    _topic_re: re.Pattern[str] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if isinstance(self.signals, str):
            # A lone string would otherwise be read as a tuple of one-character globs.
            object.__setattr__(self, "signals", (self.signals,))
        else:
            object.__setattr__(self, "signals", tuple(self.signals))
        if self.topics is not None:
            try:
                compiled = re.compile(self.topics)
            except re.error as exc:
                raise ValueError(f"invalid topic regex {self.topics!r}: {exc}") from exc
            object.__setattr__(self, "_topic_re", compiled)
        if self.start_s is not None and self.end_s is not None and self.end_s < self.start_s:
            raise ValueError(f"end ({self.end_s} s) is before start ({self.start_s} s)")

    @classmethod
    def parse_signals(cls, text: str | None) -> tuple[str, ...]:
        """Split a comma-separated `--signals` value into globs, dropping empty items."""
        if not text:
            return ()
        return tuple(part.strip() for part in text.split(",") if part.strip())

    @property
    def is_everything(self) -> bool:
        return (
            self.topics is None and not self.signals and self.start_s is None and self.end_s is None
        )

    @property
    def has_window(self) -> bool:
        return self.start_s is not None or self.end_s is not None

    def wants_topic(self, topic: str) -> bool:
        """Whether the topic passes the topic regex (signal globs are checked per leaf)."""
        return self._topic_re is None or self._topic_re.search(topic) is not None

    def may_want_signals_of(self, topic: str) -> bool:
        """Whether any signal of the topic could be selected, before its fields are known.

        False only when certain: the topic fails the regex, or every glob names a topic
        (has a `:`) whose literal start rules this one out. Readers skip such a topic's
        messages without decoding them (a JSON channel's fields are only known after
        parsing every message).
        """
        if not self.wants_topic(topic):
            return False
        if not self.signals:
            return True
        head = f"{topic}:"
        for pattern in self.signals:
            if ":" not in pattern:
                return True
            literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
            if head.startswith(literal) or literal.startswith(head):
                return True
        return False

    def wants_signal(self, topic: str, path: str) -> bool:
        if not self.wants_topic(topic):
            return False
        if not self.signals:
            return True
        return any(glob_matches(pattern, topic, path) for pattern in self.signals)

    def unmatched(self, signals: Iterable[tuple[str, str]]) -> tuple[str, ...]:
        """What selects nothing among `signals` ((topic, path) pairs of one recording, or
        of every run asked for): each signal glob that matches no signal of a topic the
        regex lets through, in the order given; with no globs, the topic regex itself
        when it lets no signal through. Empty when every part selects something.

        Callers refuse such a request, naming what is returned (see `no_match`): a glob
        with a typo must not quietly shrink an export.
        """
        wanted = [(t, p) for t, p in signals if self.wants_topic(t)]
        if not self.signals:
            return (self.topics,) if self.topics is not None and not wanted else ()
        return tuple(
            g for g in self.signals if not any(glob_matches(g, t, p) for t, p in wanted)
        )

    def window_ns(self, origin_ns: int) -> tuple[int | None, int | None]:
        """The window as absolute log times (inclusive), `None` for an open side."""
        lo = None if self.start_s is None else origin_ns + round(self.start_s * 1e9)
        hi = None if self.end_s is None else origin_ns + round(self.end_s * 1e9)
        return lo, hi


def glob_matches(pattern: str, topic: str, path: str) -> bool:
    """One `--signals` glob against one signal (see the module's doc for the two forms)."""
    if ":" in pattern:
        return fnmatchcase(f"{topic}:{path}", pattern)
    return fnmatchcase(path, pattern)


def no_match(parts: Sequence[str], where: str) -> str:
    """The one message for globs (or a topic regex) that select nothing, said the same by
    the API, the converter and `pitwall convert`: `'Foo:*' matches no signal of this run`."""
    quoted = ", ".join(repr(p) for p in parts)
    return f"{quoted} {'matches' if len(parts) == 1 else 'match'} no signal of {where}"
