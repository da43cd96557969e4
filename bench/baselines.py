"""The plain MCAP -> MAT routes pitwall is measured against, as a standalone script.

    python bench/baselines.py onepass  IN.mcap OUT.mat
    python bench/baselines.py pertopic IN.mcap OUT.mat --topics A,B,C

Both use only the official libraries, the way a careful engineer would write them:
the `mcap` reader with `mcap-protobuf-support`'s decoder (JSON channels: `json.loads`),
one getattr per leaf into Python lists, numpy arrays, `scipy.io.savemat` (MAT v5).

- `onepass`: one decoded pass over the whole file, every topic at once, with Python's
  cyclic GC off (~2x faster on this workload: the fair peer for pitwall).
- `pertopic`: the team's current converter: one full decoded pass per topic (their
  script as it runs, GC on). Given a sample of topics it runs only those passes, so a
  caller can extrapolate to every topic without spending an hour.

Prints one JSON line on stdout: messages decoded, seconds per pass, output shape.
Deliberately independent of pitwall (no pitwall import): it is the yardstick.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {
    "double": np.float64,
    "float": np.float32,
    "int32": np.int32,
    "sint32": np.int32,
    "sfixed32": np.int32,
    "enum": np.int32,
    "uint32": np.uint32,
    "fixed32": np.uint32,
    "int64": np.int64,
    "sint64": np.int64,
    "sfixed64": np.int64,
    "uint64": np.uint64,
    "fixed64": np.uint64,
    "bool": np.bool_,
    "number": np.float64,
    "boolean": np.bool_,
}
_INVALID = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class Leaf:
    path: tuple[str, ...]
    kind: str  # a key of _DTYPES, or "string"
    repeated: bool
    values: list[Any] = field(default_factory=list)


@dataclass
class TopicData:
    leaves: list[Leaf]
    times: list[int] = field(default_factory=list)


# -- leaves ---------------------------------------------------------------------------
def _proto_kind(fd: Any) -> str | None:
    from google.protobuf.descriptor import FieldDescriptor as F

    names = {
        F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float", F.TYPE_INT32: "int32",
        F.TYPE_SINT32: "sint32", F.TYPE_SFIXED32: "sfixed32", F.TYPE_UINT32: "uint32",
        F.TYPE_FIXED32: "fixed32", F.TYPE_INT64: "int64", F.TYPE_SINT64: "sint64",
        F.TYPE_SFIXED64: "sfixed64", F.TYPE_UINT64: "uint64", F.TYPE_FIXED64: "fixed64",
        F.TYPE_BOOL: "bool", F.TYPE_ENUM: "enum", F.TYPE_STRING: "string",
    }  # fmt: skip
    return names.get(fd.type)  # bytes and groups: not exported


def proto_leaves(descriptor: Any, prefix: tuple[str, ...] = ()) -> list[Leaf]:
    """Every scalar leaf of a message type, nested messages flattened, in field order."""
    out: list[Leaf] = []
    for fd in descriptor.fields:
        repeated = bool(fd.is_repeated)
        if fd.message_type is not None:
            if not repeated:
                out += proto_leaves(fd.message_type, (*prefix, fd.name))
            continue  # repeated messages: not in these files
        kind = _proto_kind(fd)
        if kind is not None and not (repeated and kind == "string"):
            out.append(Leaf((*prefix, fd.name), kind, repeated))
    return out


def json_leaves(doc: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[Leaf]:
    out: list[Leaf] = []
    for key, value in doc.items():
        if isinstance(value, dict):
            out += json_leaves(value, (*prefix, key))
        elif isinstance(value, bool):
            out.append(Leaf((*prefix, key), "boolean", False))
        elif isinstance(value, int | float):
            out.append(Leaf((*prefix, key), "number", False))
        elif isinstance(value, str):
            out.append(Leaf((*prefix, key), "string", False))
    return out


# -- the pass -------------------------------------------------------------------------
class JsonDecoderFactory:
    """`mcap` decoder factory for JSON channels (the protobuf one ignores them)."""

    def decoder_for(self, message_encoding: str, schema: Any) -> Callable[[bytes], Any] | None:
        return json.loads if message_encoding == "json" else None


def decoded_pass(path: Path, topics: Iterable[str] | None, into: dict[str, TopicData]) -> int:
    """Decode every message of `topics` (all when None), appending each leaf's value."""
    from mcap.reader import make_reader
    from mcap_protobuf.decoder import DecoderFactory

    count = 0
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory(), JsonDecoderFactory()])  # type: ignore[list-item]
        for _schema, channel, message, decoded in reader.iter_decoded_messages(topics=topics):
            data = into.get(channel.topic)
            if data is None:
                if isinstance(decoded, dict):
                    leaves = json_leaves(decoded)
                else:
                    leaves = proto_leaves(decoded.DESCRIPTOR)
                data = into[channel.topic] = TopicData(leaves)
            data.times.append(message.log_time)
            if isinstance(decoded, dict):
                for leaf in data.leaves:
                    v: Any = decoded
                    for name in leaf.path:
                        v = v.get(name) if isinstance(v, dict) else None
                    leaf.values.append(v)
            else:
                for leaf in data.leaves:
                    v = decoded
                    for name in leaf.path:
                        v = getattr(v, name)
                    leaf.values.append(list(v) if leaf.repeated else v)
            count += 1
    return count


# -- arrays and MAT -------------------------------------------------------------------
def matlab_name(name: str) -> str:
    out = _INVALID.sub("_", name)
    if not out[:1].isalpha():
        out = "x" + out
    if len(out) > 63:
        out = out[:54] + "_" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return out


def leaf_array(leaf: Leaf) -> np.ndarray:
    if leaf.kind == "string":
        cells = np.empty((len(leaf.values), 1), dtype=object)
        cells[:, 0] = ["" if v is None else v for v in leaf.values]
        return cells
    if leaf.repeated:
        width = max((len(v) for v in leaf.values), default=0)
        out = np.full((len(leaf.values), width), np.nan)
        for i, row in enumerate(leaf.values):
            out[i, : len(row)] = row
        return out
    if leaf.kind in ("number",):
        return np.array([np.nan if v is None else v for v in leaf.values], dtype=np.float64)
    return np.array(leaf.values, dtype=_DTYPES[leaf.kind])


def topic_struct(data: TopicData, origin_ns: int) -> dict[str, Any]:
    struct: dict[str, Any] = {"t": (np.array(data.times, dtype=np.int64) - origin_ns) / 1e9}
    for leaf in data.leaves:
        node = struct
        for name in leaf.path[:-1]:
            node = node.setdefault(matlab_name(name), {})
        node[matlab_name(leaf.path[-1])] = leaf_array(leaf)
    return struct


def write_mat(out: Path, topics: dict[str, TopicData], origins: dict[str, int]) -> None:
    from scipy.io import savemat

    mdict = {matlab_name(t): topic_struct(d, origins[t]) for t, d in topics.items() if d.times}
    savemat(out, mdict, format="5", do_compression=False, oned_as="column")


def output_values(topics: dict[str, TopicData]) -> int:
    return sum(len(d.times) * (1 + len(d.leaves)) for d in topics.values())


# -- the two routes -------------------------------------------------------------------
def one_pass(path: Path, out: Path) -> dict[str, Any]:
    gc.disable()  # the fair peer: per-message Python allocates, the cycle collector only costs
    topics: dict[str, TopicData] = {}
    t0 = time.perf_counter()
    messages = decoded_pass(path, None, topics)
    decoded = time.perf_counter() - t0
    origin = min(min(d.times) for d in topics.values() if d.times)
    write_mat(out, topics, dict.fromkeys(topics, origin))
    return {
        "route": "onepass", "messages": messages, "topics": len(topics),
        "signals": sum(len(d.leaves) for d in topics.values()),
        "passes": [{"topic": "*", "seconds": decoded, "messages": messages}],
        "write_seconds": time.perf_counter() - t0 - decoded,
    }


def per_topic(path: Path, out: Path, topics: list[str]) -> dict[str, Any]:
    data: dict[str, TopicData] = {}
    passes = []
    for topic in topics:
        t0 = time.perf_counter()
        n = decoded_pass(path, [topic], data)
        passes.append({"topic": topic, "seconds": time.perf_counter() - t0, "messages": n})
    t0 = time.perf_counter()
    # The team's converter puts each topic on its own time origin (a known fault; the
    # cost is what is measured here).
    write_mat(out, data, {t: min(d.times) for t, d in data.items() if d.times})
    return {
        "route": "pertopic", "messages": sum(p["messages"] for p in passes), "topics": len(data),
        "signals": sum(len(d.leaves) for d in data.values()),
        "passes": passes, "write_seconds": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("route", choices=("onepass", "pertopic"))
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--topics", default="", help="pertopic: comma-separated topics, one pass each")
    args = ap.parse_args(argv)
    if args.route == "onepass":
        result = one_pass(args.input, args.output)
    else:
        topics = [t for t in args.topics.split(",") if t]
        if not topics:
            ap.error("pertopic needs --topics")
        result = per_topic(args.input, args.output, topics)
    print(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
