"""The column model: what every reader produces and every writer consumes.

A reader (the MCAP decoding core today, the Parquet signal store later) turns a
recording into `Recording`: per topic, one int64 log-time column and one column per
leaf signal. Writers (MAT v5, MAT v7.3, CSV, Parquet) and statistics only see this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

# The MATLAB-facing type of a leaf. Mapping from protobuf:
# double->double, float->single, int32/sint32/sfixed32->int32, uint32/fixed32->uint32,
# int64/sint64/sfixed64->int64, uint64/fixed64->uint64, bool->logical, enum->enum (int32
# codes), string->string. JSON numbers->double, booleans->logical, strings->string.
Kind = Literal[
    "double", "single", "int32", "uint32", "int64", "uint64", "logical", "enum", "string"
]

NUMPY_DTYPE: dict[str, npt.DTypeLike] = {
    "double": np.float64,
    "single": np.float32,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
    "logical": np.bool_,
    "enum": np.int32,
    "string": object,
}


@dataclass(slots=True)
class Signal:
    """One leaf of a message, as a column with one row per message of its topic.

    `path` is the dotted field path inside the message (`vn_gps.lat`). Scalars are a
    1-D array of length N with the dtype of `kind` (strings: object array of `str`).
    A repeated numeric field has `repeated=True` and is an N x K float64 array, K the
    longest row, shorter rows padded with NaN. A field absent from a message holds the
    protobuf default (0, False, "") as the official decoder reports it.
    """

    path: str
    kind: Kind
    values: np.ndarray
    repeated: bool = False
    enum_names: dict[int, str] | None = None

    @property
    def width(self) -> int:
        return int(self.values.shape[1]) if self.values.ndim == 2 else 1


@dataclass(slots=True)
class TopicColumns:
    topic: str
    schema_name: str
    encoding: str  # "protobuf" | "jsonschema"
    log_time_ns: np.ndarray  # int64, N, in file order
    signals: dict[str, Signal] = field(default_factory=dict)  # by path, in schema order
    # What the topic's own schema says of a leaf beyond its type, by path: JSON-schema
    # `unit` and `description` (protobuf enum names are on the Signal).
    schema_info: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.log_time_ns.shape[0])


@dataclass(slots=True)
class Skipped:
    """Something a reader could not use, counted so `meta` can say what and why."""

    what: str  # e.g. "topic:field.path", "tail", "chunk@1234"
    reason: str
    count: int = 1


@dataclass(slots=True)
class Recording:
    topics: dict[str, TopicColumns]
    # Log time of the first message of the whole file (the single time origin), even
    # when a selection later drops that message's topic.
    origin_ns: int | None
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    truncated: bool = False
    # Bytes after the last fully readable record (0 for an intact file).
    lost_tail_bytes: int = 0
    message_count: int = 0
    source_size: int = 0
