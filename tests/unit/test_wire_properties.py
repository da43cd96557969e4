"""Properties of the wire decoder (the compiled protobuf kernel and the JSON channel path).

Values drawn by hypothesis are encoded by the reference encoder (upb's
`SerializeToString`, `json.dumps`), decoded by the real `Decoder` over the kernel
(`tests/fuzz/contract.decode_payloads`) and compared with the values that went in,
field by field and bit for bit (`mcapread_fixtures.assert_matches_official`). Lean:
a few hundred examples in all, no deadline (the machine is shared).
"""

from __future__ import annotations

import json
from typing import Any

import contract  # tests/fuzz, on pytest's pythonpath (pyproject.toml)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcapread_fixtures import Legacy, Official, Telemetry, assert_matches_official

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

I32 = st.integers(-(2**31), 2**31 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)
F64 = st.floats(allow_nan=True, allow_infinity=True)
F32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
TEXT = st.text(max_size=40)

SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "d": F64, "f": F32, "i32": I32, "i64": I64, "u32": U32, "u64": U64, "s32": I32,
    "s64": I64, "fx32": U32, "fx64": U64, "sfx32": I32, "sfx64": I64, "b": st.booleans(),
    "mode": st.sampled_from([0, 1, 2, -2, 7, 2**31 - 1]), "name": TEXT, "big": U32,
    "opt": F64, "blob": st.binary(max_size=8),
}  # fmt: skip
REPEATED: dict[str, st.SearchStrategy[Any]] = {
    "cells": F32, "temps": I32, "zz": I64, "flags": st.booleans(),
    "modes": st.sampled_from([0, 1, 2, 9]), "dd": F64,
}  # fmt: skip


@st.composite
def telemetry(draw: st.DrawFn) -> Any:
    m = Telemetry()
    for name, strat in SCALARS.items():
        if draw(st.booleans()):
            setattr(m, name, draw(strat))
    for name, strat in REPEATED.items():
        getattr(m, name).extend(draw(st.lists(strat, max_size=6)))
    for vec in ("accel", "gyro"):
        if draw(st.booleans()):
            v = getattr(m, vec)
            v.x, v.y, v.z = draw(F64), draw(F64), draw(F64)
    if draw(st.booleans()):
        m.gps.lat, m.gps.lon = draw(F64), draw(F64)
        if draw(st.booleans()):
            m.gps.fix = draw(TEXT)
        if draw(st.booleans()):
            m.gps.vel.x = draw(F64)
    which = draw(st.sampled_from(["", "src_a", "src_b", "src_v"]))
    if which == "src_a":
        m.src_a = draw(I32)
    elif which == "src_b":
        m.src_b = draw(TEXT)
    elif which == "src_v":
        m.src_v.y = draw(F64)
    for _ in range(draw(st.integers(0, 2))):
        m.wheels.add().x = draw(F64)
    m.notes.extend(draw(st.lists(TEXT, max_size=2)))
    return m


@st.composite
def legacy(draw: st.DrawFn) -> Any:
    m = Legacy(req=draw(U64))
    for name, strat in {"a": I32, "c": st.sampled_from([3, 5, 9]), "s": TEXT, "f": F32,
                        "flag": st.booleans()}.items():  # fmt: skip
        if draw(st.booleans()):
            setattr(m, name, draw(strat))
    m.cs.extend(draw(st.lists(st.sampled_from([3, 5, 9]), max_size=4)))
    if draw(st.booleans()):
        m.g.x = draw(I32)
    return m


def _check(messages: list[tuple[int, bytes]], values: list[Any]) -> None:
    """Decode `messages`; every row must equal the value it was encoded from."""
    topics: dict[str, list[tuple[int, Any]]] = {}
    enc: dict[str, str] = {}
    names = {1: "telemetry", 2: "legacy", 3: "mouse"}
    for i, ((cid, _), value) in enumerate(zip(messages, values, strict=True), 1):
        topics.setdefault(names[cid], []).append((i, value))
        enc[names[cid]] = "json" if cid == 3 else "protobuf"
    rec = contract.decode_payloads(messages)
    assert not [s for s in rec.skipped if "not valid" in s.reason], rec.skipped
    # The decoder lists every defined channel's topic, with no rows when it had none.
    rec.topics = {t: tc for t, tc in rec.topics.items() if tc.count}
    assert_matches_official(rec, Official(topics, enc, len(messages), 1))


@SETTINGS
@given(st.lists(st.one_of(telemetry(), legacy()), min_size=1, max_size=8))
def test_protobuf_round_trip(values: list[Any]) -> None:
    messages = [(1 if isinstance(v, Telemetry) else 2, v.SerializeToString()) for v in values]
    _check(messages, values)


@SETTINGS
@given(telemetry(), telemetry())
def test_concatenated_messages_decode_as_their_merge(a: Any, b: Any) -> None:
    """Protobuf: two serialized messages back to back parse as a.MergeFrom(b) (last
    scalar wins, nested messages merge, repeated fields append, oneof switches)."""
    merged = Telemetry()
    merged.CopyFrom(a)
    merged.MergeFrom(b)
    _check([(1, a.SerializeToString() + b.SerializeToString())], [merged])


JSON_VALUE = st.fixed_dictionaries(
    {"clientX": F64.filter(lambda x: x == x and abs(x) != float("inf")), "clientY": I32},
    optional={"meta": st.fixed_dictionaries({}, optional={"ok": st.booleans(), "label": TEXT})},
)


@SETTINGS
@given(st.lists(JSON_VALUE, min_size=1, max_size=8))
def test_json_round_trip(values: list[dict[str, Any]]) -> None:
    _check([(3, json.dumps(v).encode()) for v in values], values)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.binary(max_size=300), st.sampled_from([1, 2]))
def test_any_bytes_are_kept_exactly_when_the_reference_parser_accepts_them(
    payload: bytes, cid: int
) -> None:
    """The fuzz harness's differential contract on arbitrary payloads."""
    contract.check_wire(contract.wire_input([(cid, payload)]))


@SETTINGS
@given(telemetry(), st.data())
def test_a_damaged_message_is_dropped_or_decoded_as_the_reference_does(a: Any, data: Any) -> None:
    raw = bytearray(a.SerializeToString())
    if raw:
        for _ in range(data.draw(st.integers(1, 3))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    contract.check_wire(contract.wire_input([(1, bytes(raw))]))
