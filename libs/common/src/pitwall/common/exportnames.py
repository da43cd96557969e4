"""Download names for exports: which run, what selection, which window.

`endurance_2024-03-26_1432_5sig_60-90s.mat`: two exports of different runs, selections or
windows never share a name, so a folder of downloads stays readable. query_api makes the
names (it has the run's setup and signal list); the converter only writes under them.

- run: the setup's event type, the UTC date and time (HHMM) of the run's first message
  (time of day because a team runs several autocrosses a day); without an event type,
  the uploaded file's name without its suffix;
- selection: `all` for every signal, `<topic>_<n>sig` when the selected signals are all
  in one topic, else `<n>sig`;
- window: `60-90s`, `60s-end`, `0-90s`; nothing for the whole run; `_<hz>Hz` when resampled.

Every part keeps only letters, digits, `_`, `-` and `.`, so a name is safe on every file
system and as the last part of an S3 key (`storage.export_key`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import PurePosixPath

MAX_STEM = 200  # leaves room for a suffix and keeps S3 keys far below 1024 bytes
_UNSAFE = re.compile(r"[^\w.-]+")


def safe_part(text: str) -> str:
    """`text` with every run of unsafe characters as one `_`, no leading/trailing `_.-`."""
    return _UNSAFE.sub("_", text).strip("_.-")


def run_label(
    *, filename: str | None, event_type: str | None, start_ns: int | None, fallback: str
) -> str:
    """The run's part of a download name (see the module's doc)."""
    kind = safe_part(event_type or "")
    if kind and start_ns is not None:
        when = datetime.fromtimestamp(start_ns / 1e9, tz=UTC)
        return f"{kind.lower()}_{when:%Y-%m-%d_%H%M}"
    stem = safe_part(PurePosixPath(filename or "").stem)
    return stem or safe_part(fallback) or "run"


def selection_part(selected: Collection[tuple[str, str]], everything: bool) -> str | None:
    """The selection's part from the (topic, path) pairs it selects; None when unknown
    (no signal list for the run)."""
    if everything:
        return "all"
    if not selected:
        return None
    topics = {topic for topic, _ in selected}
    count = f"{len(selected)}sig"
    if len(topics) == 1:
        topic = safe_part(next(iter(topics)))
        return f"{topic}_{count}" if topic else count
    return count


def _seconds(value: float) -> str:
    # Millisecond precision, no trailing zeros: 60, 60.5, 12.345.
    return f"{round(value, 3):.3f}".rstrip("0").rstrip(".")


def window_part(start_s: float | None, end_s: float | None) -> str | None:
    if start_s is None and end_s is None:
        return None
    if end_s is None:
        return f"{_seconds(start_s or 0.0)}s-end"
    return f"{_seconds(start_s or 0.0)}-{_seconds(end_s)}s"


def export_stem(
    run: str,
    selection: str | None,
    start_s: float | None,
    end_s: float | None,
    resample_hz: float | None = None,
) -> str:
    """The file name without its suffix: `run_selection_window[_HzHz]`."""
    parts = [run, selection, window_part(start_s, end_s)]
    if resample_hz is not None:
        parts.append(f"{_seconds(resample_hz)}Hz")
    stem = "_".join(safe_part(p) for p in parts if p and safe_part(p))
    return stem[:MAX_STEM] or "export"


def unique(stems: list[str]) -> list[str]:
    """The stems in order, a repeated one numbered `_2`, `_3`: the files of one zip."""
    seen: set[str] = set()
    out = []
    for stem in stems:
        candidate, n = stem, 2
        while candidate in seen:
            candidate, n = f"{stem}_{n}", n + 1
        seen.add(candidate)
        out.append(candidate)
    return out
