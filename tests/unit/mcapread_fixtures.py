"""Small MCAP files covering every protobuf field kind, and the official decode to compare.

Schemas are built with descriptor_pb2 (no protoc): a proto3 message with every scalar
type, nested messages (one message type used by two fields), packed and unpacked
repeated fields, a oneof, a proto3 `optional`, bytes / map / repeated-message fields
(not exported), a large field number; a proto2 message with explicit defaults, a
closed enum and a group; a JSON-schema channel. Values are random from a seed and
include negative varints, NaN/inf, unicode strings and absent fields.
"""

from __future__ import annotations

import io
import json
import math
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2 as d
from google.protobuf import descriptor_pool, message_factory
from mcap.exceptions import McapError
from mcap.stream_reader import StreamReader
from mcap.writer import CompressionType, Writer
from mcap_protobuf.decoder import DecoderFactory

from pitwall.common.columns import NUMPY_DTYPE, Recording

HYTECH = Path(__file__).resolve().parents[2] / "../shared/data/hytech"

F = d.FieldDescriptorProto
OPT, REP, REQ = F.LABEL_OPTIONAL, F.LABEL_REPEATED, F.LABEL_REQUIRED


def _field(m: Any, name: str, num: int, typ: int, label: int = OPT, **kw: Any) -> Any:
    return m.field.add(name=name, number=num, type=typ, label=label, **kw)


def proto3_file() -> d.FileDescriptorProto:
    fd = d.FileDescriptorProto(name="pw/telemetry.proto", package="pw.test", syntax="proto3")
    mode = fd.enum_type.add(name="Mode")
    for i, n in enumerate(["IDLE", "DRIVE", "FAULT"]):
        mode.value.add(name=n, number=i)
    mode.value.add(name="NEG", number=-2)
    vec = fd.message_type.add(name="Vec3")
    for i, n in enumerate("xyz", 1):
        _field(vec, n, i, F.TYPE_DOUBLE)
    gps = fd.message_type.add(name="Gps")
    _field(gps, "lat", 1, F.TYPE_DOUBLE)
    _field(gps, "lon", 2, F.TYPE_DOUBLE)
    _field(gps, "fix", 3, F.TYPE_STRING)
    _field(gps, "vel", 4, F.TYPE_MESSAGE, type_name=".pw.test.Vec3")
    m = fd.message_type.add(name="Telemetry")
    entry = m.nested_type.add(name="TagsEntry")
    entry.options.map_entry = True
    _field(entry, "key", 1, F.TYPE_STRING)
    _field(entry, "value", 2, F.TYPE_INT32)
    scalars = [
        ("d", F.TYPE_DOUBLE), ("f", F.TYPE_FLOAT), ("i32", F.TYPE_INT32), ("i64", F.TYPE_INT64),
        ("u32", F.TYPE_UINT32), ("u64", F.TYPE_UINT64), ("s32", F.TYPE_SINT32),
        ("s64", F.TYPE_SINT64), ("fx32", F.TYPE_FIXED32), ("fx64", F.TYPE_FIXED64),
        ("sfx32", F.TYPE_SFIXED32), ("sfx64", F.TYPE_SFIXED64), ("b", F.TYPE_BOOL),
    ]  # fmt: skip
    for i, (n, t) in enumerate(scalars, 1):
        _field(m, n, i, t)
    _field(m, "mode", 14, F.TYPE_ENUM, type_name=".pw.test.Mode")
    _field(m, "name", 15, F.TYPE_STRING)
    _field(m, "blob", 16, F.TYPE_BYTES)
    _field(m, "accel", 17, F.TYPE_MESSAGE, type_name=".pw.test.Vec3")
    _field(m, "gyro", 18, F.TYPE_MESSAGE, type_name=".pw.test.Vec3")
    _field(m, "gps", 19, F.TYPE_MESSAGE, type_name=".pw.test.Gps")
    _field(m, "cells", 20, F.TYPE_FLOAT, REP)
    _field(m, "temps", 21, F.TYPE_INT32, REP)
    zz = _field(m, "zz", 22, F.TYPE_SINT64, REP)
    zz.options.packed = False
    _field(m, "flags", 23, F.TYPE_BOOL, REP)
    _field(m, "modes", 24, F.TYPE_ENUM, REP, type_name=".pw.test.Mode")
    _field(m, "wheels", 25, F.TYPE_MESSAGE, REP, type_name=".pw.test.Vec3")
    _field(m, "tags", 26, F.TYPE_MESSAGE, REP, type_name=".pw.test.Telemetry.TagsEntry")
    m.oneof_decl.add(name="source")
    _field(m, "src_a", 27, F.TYPE_INT32, oneof_index=0)
    _field(m, "src_b", 28, F.TYPE_STRING, oneof_index=0)
    _field(m, "src_v", 29, F.TYPE_MESSAGE, type_name=".pw.test.Vec3", oneof_index=0)
    m.oneof_decl.add(name="_opt")
    _field(m, "opt", 30, F.TYPE_DOUBLE, oneof_index=1, proto3_optional=True)
    _field(m, "dd", 31, F.TYPE_DOUBLE, REP)
    _field(m, "notes", 32, F.TYPE_STRING, REP)
    _field(m, "big", 100000, F.TYPE_UINT32)
    return fd


def proto2_file() -> d.FileDescriptorProto:
    fd = d.FileDescriptorProto(name="pw/legacy.proto", package="pw.legacy", syntax="proto2")
    color = fd.enum_type.add(name="Color")
    for n, v in (("RED", 3), ("GREEN", 5), ("BLUE", 9)):
        color.value.add(name=n, number=v)
    m = fd.message_type.add(name="Legacy")
    _field(m, "a", 1, F.TYPE_INT32, default_value="-5")
    _field(m, "c", 2, F.TYPE_ENUM, type_name=".pw.legacy.Color")
    _field(m, "s", 3, F.TYPE_STRING, default_value="hi")
    _field(m, "cs", 4, F.TYPE_ENUM, REP, type_name=".pw.legacy.Color")
    _field(m, "req", 5, F.TYPE_UINT64, REQ)
    _field(m, "f", 6, F.TYPE_FLOAT, default_value="1.5")
    _field(m, "flag", 7, F.TYPE_BOOL, default_value="true")
    g = m.nested_type.add(name="G")
    _field(g, "x", 9, F.TYPE_INT32)
    _field(m, "g", 8, F.TYPE_GROUP, type_name=".pw.legacy.Legacy.G")
    return fd


def _fds(fd: d.FileDescriptorProto) -> bytes:
    return d.FileDescriptorSet(file=[fd]).SerializeToString()


def _classes() -> dict[str, Any]:
    pool = descriptor_pool.DescriptorPool()
    out = {}
    for fd, name in ((proto3_file(), "pw.test.Telemetry"), (proto2_file(), "pw.legacy.Legacy")):
        pool.Add(fd)
        out[name] = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
    return out


CLASSES = _classes()
Telemetry = CLASSES["pw.test.Telemetry"]
Legacy = CLASSES["pw.legacy.Legacy"]

JSON_SCHEMA = {
    "type": "object",
    "properties": {
        "clientX": {"type": "number"},
        "clientY": {"type": "number"},
        "meta": {
            "type": "object",
            "properties": {"ok": {"type": "boolean"}, "label": {"type": "string"}},
        },
    },
}

_WORDS = ["", "ok", "fault", "µs", "🏎️ lap", "ä" * 40, "x" * 300]


def telemetry(rng: random.Random) -> Any:
    """A random Telemetry message (some fields left absent)."""
    m = Telemetry()

    def maybe() -> bool:
        return rng.random() < 0.8

    if maybe():
        m.d = rng.choice([rng.uniform(-1e6, 1e6), math.inf, -math.inf, math.nan, -0.0, 5e-324])
    if maybe():
        m.f = struct.unpack("<f", struct.pack("<f", rng.uniform(-1e3, 1e3)))[0]
    if maybe():
        m.i32 = rng.choice([rng.randint(-(2**31), 2**31 - 1), -1, 0, 2**31 - 1])
    if maybe():
        m.i64 = rng.choice([rng.randint(-(2**63), 2**63 - 1), -1])
    if maybe():
        m.u32 = rng.randint(0, 2**32 - 1)
    if maybe():
        m.u64 = rng.choice([rng.randint(0, 2**64 - 1), 2**64 - 1])
    if maybe():
        m.s32 = rng.randint(-(2**31), 2**31 - 1)
    if maybe():
        m.s64 = rng.randint(-(2**63), 2**63 - 1)
    if maybe():
        m.fx32 = rng.randint(0, 2**32 - 1)
    if maybe():
        m.fx64 = rng.randint(0, 2**64 - 1)
    if maybe():
        m.sfx32 = rng.randint(-(2**31), 2**31 - 1)
    if maybe():
        m.sfx64 = rng.randint(-(2**63), 2**63 - 1)
    if maybe():
        m.b = rng.random() < 0.5
    if maybe():
        m.mode = rng.choice([0, 1, 2, -2, 7])  # 7: unknown value of an open enum
    if maybe():
        m.name = rng.choice(_WORDS)
    if maybe():
        m.blob = bytes(rng.randrange(256) for _ in range(rng.randrange(8)))
    for vec in (m.accel, m.gyro):
        if maybe():
            vec.x, vec.y, vec.z = (rng.gauss(0, 9.81) for _ in range(3))
    if maybe():
        m.gps.lat = rng.uniform(-90, 90)
        m.gps.lon = rng.uniform(-180, 180)
        if maybe():
            m.gps.fix = rng.choice(["3D", "2D", "none"])
        if maybe():
            m.gps.vel.x = rng.uniform(0, 80)
    m.cells.extend(
        struct.unpack("<f", struct.pack("<f", rng.uniform(3, 4.2)))[0]
        for _ in range(rng.choice([0, 5, 12]))
    )
    m.temps.extend(rng.randint(-40, 120) for _ in range(rng.randrange(0, 4)))
    m.zz.extend(rng.randint(-(2**40), 2**40) for _ in range(rng.randrange(0, 3)))
    m.flags.extend(rng.random() < 0.5 for _ in range(rng.randrange(0, 3)))
    m.modes.extend(rng.choice([0, 1, 2]) for _ in range(rng.randrange(0, 3)))
    for _ in range(rng.randrange(0, 3)):
        w = m.wheels.add()
        w.x = rng.random()
    if maybe():
        m.tags["k"] = rng.randint(0, 9)
    which = rng.randrange(4)
    if which == 1:
        m.src_a = rng.randint(-5, 5)
    elif which == 2:
        m.src_b = rng.choice(_WORDS[:4])
    elif which == 3:
        m.src_v.y = rng.random()
    if rng.random() < 0.5:
        m.opt = rng.random()
    m.dd.extend(rng.random() for _ in range(rng.randrange(0, 6)))
    m.notes.extend(["a"] * rng.randrange(0, 2))
    if maybe():
        m.big = rng.randint(0, 2**32 - 1)
    return m


def legacy(rng: random.Random) -> Any:
    m = Legacy()
    m.req = rng.randint(0, 2**64 - 1)
    if rng.random() < 0.5:
        m.a = rng.randint(-100, 100)
    if rng.random() < 0.5:
        m.c = rng.choice([3, 5, 9])
    if rng.random() < 0.5:
        m.s = rng.choice(_WORDS)
    if rng.random() < 0.5:
        m.f = rng.random()
    if rng.random() < 0.5:
        m.flag = rng.random() < 0.5
    m.cs.extend(rng.choice([3, 5, 9]) for _ in range(rng.randrange(0, 3)))
    if rng.random() < 0.3:
        m.g.x = 4
    return m


def legacy_bytes(rng: random.Random) -> bytes:
    """A Legacy message, sometimes with an out-of-range closed-enum value on the wire."""
    data = legacy(rng).SerializeToString()
    if rng.random() < 0.2:
        data += b"\x10\x07"  # c = 7: not a Color, kept out of the field by the parser
    if rng.random() < 0.2:
        data += b"\x22\x02\x07\x05"  # cs packed [7, 5]: 7 dropped
    return data


@dataclass
class Spec:
    """How to write a fixture file."""

    chunked: bool = True
    compression: str = "zstd"  # zstd | lz4 | none
    messages: int = 600
    seed: int = 1
    chunk_size: int = 16 * 1024
    summary: bool = True  # repeat schemas/channels and write indexes in the summary
    late_channel: bool = True  # register the proto2 channel after some messages
    json_channel: bool = True
    metadata: bool = True


def write_fixture(spec: Spec) -> bytes:
    rng = random.Random(spec.seed)
    buf = io.BytesIO()
    comp = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4, "none": CompressionType.NONE}[
        spec.compression
    ]
    kw: dict[str, Any] = {}
    if not spec.summary:
        from mcap.writer import IndexType

        kw = {"repeat_channels": False, "repeat_schemas": False, "index_types": IndexType.NONE}
    w = Writer(buf, chunk_size=spec.chunk_size, compression=comp, use_chunking=spec.chunked, **kw)
    w.start(profile="", library="pitwall-tests")
    s1 = w.register_schema("pw.test.Telemetry", "protobuf", _fds(proto3_file()))
    c1 = w.register_channel("vehicle/telemetry", "protobuf", s1)
    c_json = None
    if spec.json_channel:
        sj = w.register_schema("Mouse", "jsonschema", json.dumps(JSON_SCHEMA).encode())
        c_json = w.register_channel("mouse", "json", sj)
    if spec.metadata:
        w.add_metadata("setup", {"driver": "Ada", "track": "Skidpad", "mass": "2 Tons"})
    c2 = None
    t = 1_700_000_000_000_000_000 + rng.randrange(10**9)
    for i in range(spec.messages):
        t += rng.randrange(1, 5_000_000)
        if c2 is None and (not spec.late_channel or i >= spec.messages // 3):
            s2 = w.register_schema("pw.legacy.Legacy", "protobuf", _fds(proto2_file()))
            c2 = w.register_channel("legacy", "protobuf", s2)
        r = rng.random()
        if r < 0.6:
            w.add_message(c1, t, telemetry(rng).SerializeToString(), t, i)
        elif r < 0.85 and c2 is not None:
            w.add_message(c2, t, legacy_bytes(rng), t, i)
        elif c_json is not None:
            obj: dict[str, Any] = {"clientX": rng.uniform(0, 1000), "clientY": rng.randrange(600)}
            if rng.random() < 0.7:
                obj["meta"] = {"ok": rng.random() < 0.5, "label": rng.choice(_WORDS)}
            w.add_message(c_json, t, json.dumps(obj).encode(), t, i)
        else:
            w.add_message(c1, t, telemetry(rng).SerializeToString(), t, i)
    w.finish()
    return buf.getvalue()


# ---------------------------------------------------------------------------------------
# The official reading, flattened to what a Recording should hold.


@dataclass
class Official:
    topics: dict[str, list[tuple[int, Any]]]  # topic -> [(log_time, decoded message)]
    schema_encoding: dict[str, str]
    message_count: int
    origin_ns: int | None


def official(data: bytes) -> Official:
    """Decode with the official stream reader and protobuf decoder, up to any cut."""
    factory = DecoderFactory()
    schemas: dict[int, Any] = {}
    channels: dict[int, Any] = {}
    decoders: dict[int, Any] = {}
    topics: dict[str, list[tuple[int, Any]]] = {}
    enc: dict[str, str] = {}
    count = 0
    first = None
    records = StreamReader(io.BytesIO(data), skip_magic=False).records
    while True:
        # Only reading the next record may fail, and only as a cut file does (EndOfFile, or a
        # header cut inside its fields): a failure to decode what was read is the oracle's own.
        try:
            rec = next(records)
        except StopIteration:
            break
        except (McapError, struct.error):
            break
        kind = type(rec).__name__
        if kind == "Schema":
            schemas.setdefault(rec.id, rec)
        elif kind == "Channel":
            channels.setdefault(rec.id, rec)
        elif kind == "Message":
            ch = channels[rec.channel_id]
            count += 1
            first = rec.log_time if first is None else min(first, rec.log_time)
            if ch.message_encoding == "json":
                value = json.loads(rec.data)
            else:
                if rec.channel_id not in decoders:
                    decoders[rec.channel_id] = factory.decoder_for(ch.message_encoding, schemas[ch.schema_id])
                value = decoders[rec.channel_id](rec.data)
            topics.setdefault(ch.topic, []).append((rec.log_time, value))
            enc[ch.topic] = ch.message_encoding
    return Official(topics, enc, count, first)


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part)
    return obj


def _bits(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return values.view({8: np.uint64, 4: np.uint32}[values.dtype.itemsize])
    return values


def assert_matches_official(rec: Recording, ref: Official) -> int:
    """Every signal of every topic equals the official decode; returns signals checked."""
    checked = 0
    assert set(rec.topics) == set(ref.topics), (set(rec.topics), set(ref.topics))
    for topic, rows in ref.topics.items():
        tc = rec.topics[topic]
        times = np.array([t for t, _ in rows], dtype=np.int64)
        assert tc.log_time_ns.dtype == np.int64
        np.testing.assert_array_equal(tc.log_time_ns, times, err_msg=topic)
        for path, sig in tc.signals.items():
            checked += 1
            values = [
                _get(m, path) if not isinstance(m, dict) else _json_get(m, path) for _, m in rows
            ]
            where = f"{topic}:{path}"
            if sig.repeated:
                width = max((len(v) for v in values), default=0)
                assert sig.values.shape == (len(rows), width), where
                expect = np.full((len(rows), width), np.nan)
                for i, v in enumerate(values):
                    expect[i, : len(v)] = [float(x) for x in v]
                np.testing.assert_array_equal(_bits(sig.values), _bits(expect), err_msg=where)
                continue
            if tc.encoding == "jsonschema":
                _check_json(sig, values, where)
                continue
            assert sig.values.dtype == np.dtype(
                np.bool_ if sig.kind == "logical" else NUMPY_DTYPE[sig.kind]
            ), where
            if sig.kind == "string":
                assert list(sig.values) == [
                    v if isinstance(v, str) else v.decode("utf-8", "replace") for v in values
                ], where
            else:
                expect_arr = np.array(values, dtype=sig.values.dtype)
                np.testing.assert_array_equal(_bits(sig.values), _bits(expect_arr), err_msg=where)
    return checked


def _json_get(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _check_json(sig: Any, values: list[Any], where: str) -> None:
    if sig.kind == "double":
        expect = np.array(
            [
                float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
                for v in values
            ]
        )
        np.testing.assert_array_equal(_bits(sig.values), _bits(expect), err_msg=where)
    elif sig.kind == "logical":
        assert sig.values.tolist() == [v is True for v in values], where
    else:
        assert list(sig.values) == [v if isinstance(v, str) else "" for v in values], where


def iter_fixture_specs() -> Iterator[Spec]:
    yield Spec(chunked=True, compression="zstd")
    yield Spec(chunked=True, compression="lz4", seed=2)
    yield Spec(chunked=True, compression="none", seed=3)
    yield Spec(chunked=False, compression="none", seed=4)
    yield Spec(chunked=True, compression="zstd", summary=False, seed=5)


def assert_prefix_matches_official(rec: Recording, ref: Official) -> None:
    """For a cut file: what the official reader yields is a prefix of each topic."""
    for topic, rows in ref.topics.items():
        if not rows:
            continue
        tc = rec.topics[topic]
        n = len(rows)
        assert tc.count >= n, (topic, tc.count, n)
        head = Recording(topics={topic: _head(tc, n)}, origin_ns=rec.origin_ns)
        assert_matches_official(
            head, Official({topic: rows}, ref.schema_encoding, n, ref.origin_ns)
        )


def _head(tc: Any, n: int) -> Any:
    from pitwall.common.columns import Signal, TopicColumns

    sigs = {}
    for path, s in tc.signals.items():
        values = s.values[:n]
        if s.repeated:
            # K is the longest row of the whole column; the prefix may need fewer.
            width = int((~np.isnan(values)).sum(axis=1).max()) if n else 0
            nan_cols = np.isnan(values).all(axis=0)
            width = max(width, int(np.nonzero(~nan_cols)[0].max()) + 1 if (~nan_cols).any() else 0)
            values = values[:, :width]
        sigs[path] = Signal(path, s.kind, values, s.repeated, s.enum_names)
    return TopicColumns(tc.topic, tc.schema_name, tc.encoding, tc.log_time_ns[:n], sigs)
