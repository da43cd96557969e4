"""One time origin for every topic: seconds since the first message of the recording."""

from __future__ import annotations

import numpy as np

from pitwall.common.columns import Recording


def origin_of(rec: Recording) -> int:
    """The recording's origin; for a reader that left it unset, the earliest log time."""
    if rec.origin_ns is not None:
        return int(rec.origin_ns)
    firsts = [int(tc.log_time_ns.min()) for tc in rec.topics.values() if tc.count]
    return min(firsts, default=0)


def seconds_since(log_time_ns: np.ndarray, origin_ns: int) -> np.ndarray:
    """float64 seconds, exact to well under 1e-9 s.

    The subtraction is done in int64 (absolute nanoseconds since 1970 do not fit a
    float64 mantissa); the difference does for any run shorter than ~104 days, and the
    division by 1e9 is correctly rounded.
    """
    rel = np.asarray(log_time_ns, dtype=np.int64) - np.int64(origin_ns)
    return rel.astype(np.float64) / 1e9
