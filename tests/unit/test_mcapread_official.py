"""The MCAP reading core against the official reader + protobuf decoder, signal by signal."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from mcap.writer import Writer
from mcapread_fixtures import (
    HYTECH,
    Spec,
    assert_matches_official,
    iter_fixture_specs,
    official,
    proto3_file,
    telemetry,
    write_fixture,
)

from pitwall.common.mcapread import NotMcapError, read_recording, scan_summary


@pytest.mark.parametrize(
    "spec",
    list(iter_fixture_specs()),
    ids=lambda s: (
        f"{s.compression}-{'chunked' if s.chunked else 'unchunked'}-summary{int(s.summary)}"
    ),
)
def test_every_signal_equals_the_official_decoder(spec: Spec) -> None:
    data = write_fixture(spec)
    ref = official(data)
    rec = read_recording(data)
    checked = assert_matches_official(rec, ref)
    assert checked >= 45  # all scalar kinds, nested, repeated, oneof, JSON leaves
    assert rec.message_count == ref.message_count == spec.messages
    assert rec.origin_ns == ref.origin_ns
    assert not rec.truncated and rec.lost_tail_bytes == 0
    assert rec.metadata == {"setup": {"driver": "Ada", "track": "Skidpad", "mass": "2 Tons"}}


def test_kinds_follow_the_mapping() -> None:
    rec = read_recording(write_fixture(Spec(messages=200)))
    sig = rec.topics["vehicle/telemetry"].signals
    expect = {
        "d": ("double", np.float64), "f": ("single", np.float32), "i32": ("int32", np.int32),
        "s32": ("int32", np.int32), "sfx32": ("int32", np.int32), "u32": ("uint32", np.uint32),
        "fx32": ("uint32", np.uint32), "i64": ("int64", np.int64), "s64": ("int64", np.int64),
        "sfx64": ("int64", np.int64), "u64": ("uint64", np.uint64), "fx64": ("uint64", np.uint64),
        "b": ("logical", np.bool_), "mode": ("enum", np.int32), "name": ("string", object),
        "gps.vel.x": ("double", np.float64), "cells": ("double", np.float64),
    }  # fmt: skip
    for path, (kind, dtype) in expect.items():
        assert sig[path].kind == kind, path
        assert sig[path].values.dtype == np.dtype(dtype), path
    assert sig["mode"].enum_names == {0: "IDLE", 1: "DRIVE", 2: "FAULT", -2: "NEG"}
    assert sig["cells"].repeated and sig["cells"].values.ndim == 2
    # Two fields of the same message type are separate columns.
    assert not np.array_equal(sig["accel.x"].values, sig["gyro.x"].values)


def test_unexported_fields_are_reported_not_dropped_silently() -> None:
    rec = read_recording(write_fixture(Spec(messages=200)))
    skipped = {(s.what, s.reason) for s in rec.skipped}
    assert ("vehicle/telemetry:blob", "bytes field not exported") in skipped
    assert ("vehicle/telemetry:wheels", "repeated message field not exported") in skipped
    assert ("vehicle/telemetry:tags", "repeated message field not exported") in skipped
    assert ("legacy:g", "group field not exported") in skipped
    assert "blob" not in rec.topics["vehicle/telemetry"].signals


def test_a_channel_that_starts_late_inside_a_chunk_is_read() -> None:
    data = write_fixture(Spec(late_channel=True, messages=400, seed=9))
    rec = read_recording(data)
    ref = official(data)
    assert rec.topics["legacy"].count == len(ref.topics["legacy"]) > 0
    first_legacy = int(rec.topics["legacy"].log_time_ns[0])
    assert first_legacy > int(rec.topics["vehicle/telemetry"].log_time_ns[0])
    assert rec.origin_ns == min(int(t.log_time_ns[0]) for t in rec.topics.values())


def test_many_distinct_strings() -> None:
    """More distinct values than the first string table holds (it grows)."""
    import io

    from google.protobuf import descriptor_pb2

    buf = io.BytesIO()
    w = Writer(buf)
    w.start()
    schema = descriptor_pb2.FileDescriptorSet(file=[proto3_file()]).SerializeToString()
    cid = w.register_channel(
        "t", "protobuf", w.register_schema("pw.test.Telemetry", "protobuf", schema)
    )
    rng = random.Random(3)
    names = []
    for i in range(6000):
        m = telemetry(rng)
        m.name = f"run-{i % 5000}-é"
        names.append(m.name)
        w.add_message(cid, 1000 + i, m.SerializeToString(), 1000 + i)
    w.finish()
    rec = read_recording(buf.getvalue())
    assert list(rec.topics["t"].signals["name"].values) == names


@pytest.mark.hytech
@pytest.mark.parametrize(
    ("name", "messages", "truncated"),
    [
        ("03_26_2024_23_10_23_RECOVERED_V2.mcap", 522, False),
        ("02_29_2024_19_30_56.mcap", 204, True),
    ],
)
def test_real_files_match_the_official_decoder(name: str, messages: int, truncated: bool) -> None:
    path = HYTECH / name
    if not path.exists():
        pytest.skip("team files not available")
    rec = read_recording(path)
    ref = official(path.read_bytes())
    assert rec.message_count == ref.message_count == messages
    assert assert_matches_official(rec, ref) == 24
    assert len(rec.topics) == 6
    assert rec.origin_ns == ref.origin_ns
    assert rec.truncated is truncated
    if truncated:
        assert any(s.what == "footer" for s in rec.skipped)
    else:
        assert rec.metadata["setup"]["driver"] == "Adam"
        assert rec.metadata["TTPMS_P_AVG"]["lf_ttpms_1"] == "20.0"


@pytest.mark.hytech
def test_scan_summary_of_real_files() -> None:
    path = HYTECH / "02_29_2024_19_30_56.mcap"
    if not path.exists():
        pytest.skip("team files not available")
    info = scan_summary(path)
    assert info.message_count == 204 and info.truncated and not info.from_summary
    assert sorted(c.message_count for c in info.channels) == [34] * 6
    full = scan_summary(HYTECH / "03_26_2024_23_10_23_RECOVERED_V2.mcap")
    assert full.from_summary and full.message_count == 522
    assert full.metadata["setup"]["trackName"] == "Luigi's Mansion"
    assert (full.end_ns - full.start_ns) / 1e9 == pytest.approx(8.7, abs=0.2)


def test_scan_summary_matches_a_full_read() -> None:
    specs = list(iter_fixture_specs())
    assert specs, "no fixture spec"
    for spec in specs:
        data = write_fixture(spec)
        info = scan_summary(data)
        rec = read_recording(data)
        assert info.message_count == rec.message_count
        # Unchunked files have no chunk index to check the statistics against.
        assert info.from_summary is (spec.summary and spec.chunked)
        counts = {c.topic: c.message_count for c in info.channels}
        assert counts == {t: tc.count for t, tc in rec.topics.items()}
        assert info.start_ns == rec.origin_ns


@pytest.mark.parametrize("data", [b"", b"\x89MCAP", b"PK\x03\x04 a zip file, not mcap at all"])
def test_not_mcap_is_one_clear_error(data: bytes) -> None:
    with pytest.raises(NotMcapError) as err:
        read_recording(data)
    assert "not an MCAP file" in str(err.value) and "\n" not in str(err.value)


def test_paths_bytes_and_range_sources_read_the_same(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = write_fixture(Spec(messages=300, seed=11))
    path = tmp_path / "f.mcap"
    path.write_bytes(data)

    class Ranges:
        size = len(data)

        def read(self, offset: int, length: int) -> bytes:
            return data[offset : offset + length]

    ref = official(data)
    for source in (path, str(path), data, bytearray(data), memoryview(data), Ranges()):
        assert_matches_official(read_recording(source), ref)  # type: ignore[arg-type]


def test_one_thread_and_two_threads_agree() -> None:
    data = write_fixture(Spec(messages=3000, seed=12, chunk_size=4096))
    a = read_recording(data, threads=1)
    b = read_recording(data, threads=2)
    assert a.topics, "the fixture has no topic"
    for topic, tc in a.topics.items():
        for path, sig in tc.signals.items():
            other = b.topics[topic].signals[path].values
            if sig.values.dtype == object:
                assert list(sig.values) == list(other)
            else:
                np.testing.assert_array_equal(sig.values.view(np.uint8), other.view(np.uint8))


def test_progress_reaches_one_and_never_goes_back() -> None:
    seen: list[float] = []
    read_recording(write_fixture(Spec(messages=800)), progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert all(0.0 <= a <= b <= 1.0 for a, b in itertools.pairwise(seen))


@pytest.mark.parametrize(
    "spec",
    [Spec(messages=1500, seed=13, chunk_size=2048), Spec(messages=1500, seed=14, chunked=False)],
    ids=["chunked", "unchunked"],
)
def test_tiny_batches_give_the_same_columns(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns, strings, repeated widths and rows carry across batch boundaries."""
    from pitwall.common.mcapread import container

    data = write_fixture(spec)
    ref = official(data)
    monkeypatch.setattr(container, "BATCH_BYTES", 3000)
    assert_matches_official(read_recording(data, threads=2), ref)
    assert_matches_official(read_recording(data, threads=1), ref)


def test_channels_of_every_shape() -> None:
    """Schemaless JSON, an unsupported encoding, a topic on two channels (same schema:
    merged in file order; another schema: kept apart), messages on an undefined channel."""
    import io
    import json

    from google.protobuf import descriptor_pb2
    from mcapread_fixtures import Telemetry

    buf = io.BytesIO()
    w = Writer(buf)
    w.start()
    schema = descriptor_pb2.FileDescriptorSet(file=[proto3_file()]).SerializeToString()
    s1 = w.register_schema("pw.test.Telemetry", "protobuf", schema)
    a = w.register_channel("car", "protobuf", s1)
    b = w.register_channel("car", "protobuf", s1)
    raw = w.register_channel("raw", "json", 0)
    ros = w.register_channel(
        "ros", "ros1", w.register_schema("std_msgs/Int32", "ros1msg", b"int32 data")
    )
    other = w.register_channel("car", "json", 0)
    for i in range(10):
        w.add_message(a if i % 2 else b, 100 + i, Telemetry(i32=i).SerializeToString(), 100 + i)
        w.add_message(
            raw, 100 + i, json.dumps({"x": i, "tag": {"ok": i % 3 == 0}}).encode(), 100 + i
        )
        w.add_message(ros, 100 + i, b"\x01\x00\x00\x00", 100 + i)
        w.add_message(other, 100 + i, b'{"y": 1}', 100 + i)
        w.add_message(99, 100 + i, b"??", 100 + i)
    w.finish()
    rec = read_recording(buf.getvalue())
    assert rec.topics["car"].signals["i32"].values.tolist() == list(range(10))
    assert rec.topics["raw"].encoding == "jsonschema"
    assert rec.topics["raw"].signals["x"].values.tolist() == [float(i) for i in range(10)]
    assert rec.topics["raw"].signals["tag.ok"].values.tolist() == [i % 3 == 0 for i in range(10)]
    assert rec.topics[f"car#{other}"].signals["y"].values.tolist() == [1.0] * 10
    assert "ros" not in rec.topics
    skipped = {(s.what, s.reason): s.count for s in rec.skipped}
    assert skipped[("ros", "message encoding 'ros1' is not supported")] == 10
    assert skipped[("channel 99", "messages on a channel with no channel record")] == 10
    assert rec.origin_ns == 100
