"""`pitwall synth`: files that the official MCAP and protobuf decoders read in full,
byte-identical per seed, with a truncated variant that loses only its partial tail, and
physics that agree (GPS laps, wheel speed vs. velocity)."""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from google.protobuf.descriptor_pb2 import FileDescriptorSet
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from mcap.decoder import DecoderFactory as McapDecoderFactory
from mcap.exceptions import EndOfFile
from mcap.reader import make_reader
from mcap.records import Channel, Chunk, Message, Schema
from mcap.stream_reader import StreamReader, breakup_chunk
from mcap_protobuf.decoder import DecoderFactory
from typer.testing import CliRunner

from pitwall.synth import (
    JSON_TOPIC,
    LATE_TOPIC,
    WHEEL_RADIUS_M,
    SynthSummary,
    topic_leaves,
    topics,
    write_synth,
)
from pitwall.synth.generator import DRIVER_LIMITS
from pitwall.synth.messages import typed
from pitwall.synth.signals import Ctx, Presence, RowLists, Strings
from pitwall.synth.track import make_track, plan_drive
from pitwall.synth.vehicle import simulate

MAGIC = b"\x89MCAP0\r\n"


class JsonDecoderFactory(McapDecoderFactory):
    def decoder_for(
        self, message_encoding: str, schema: Schema | None
    ) -> Callable[[bytes], Any] | None:
        if message_encoding == "json":
            return lambda data: json.loads(data)
        return None


def _decode_all(path: Path) -> tuple[Counter[str], dict[str, list[Any]]]:
    """Every message through the official reader and decoders; a few kept per topic."""
    counts: Counter[str] = Counter()
    kept: dict[str, list[Any]] = {}
    with path.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory(), JsonDecoderFactory()])
        for _, channel, _, decoded in reader.iter_decoded_messages(log_time_order=False):
            counts[channel.topic] += 1
            bucket = kept.setdefault(channel.topic, [])
            if len(bucket) < 5 or counts[channel.topic] % 97 == 0:
                bucket.append(decoded)
    return counts, kept


def _stream_records(path: Path) -> tuple[list[Any], bool]:
    """Records as the stream reader yields them; True if it stopped at a cut tail."""
    out = []
    with path.open("rb") as f:
        try:
            for record in StreamReader(f, emit_chunks=True).records:
                out.append(record)
        except EndOfFile:
            return out, True
    return out, False


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, SynthSummary]]:
    base = tmp_path_factory.mktemp("synth")
    out = {}
    for name, kwargs in {
        "zstd": {"chunked": True, "compression": "zstd"},
        "lz4": {"chunked": True, "compression": "lz4"},
        "none": {"chunked": True, "compression": "none"},
        "unchunked": {"chunked": False},
    }.items():
        path = base / f"{name}.mcap"
        out[name] = (path, write_synth(path, minutes=0.1, seed=11, **kwargs))  # type: ignore[arg-type]
    return out


# --- the catalogue ---------------------------------------------------------------------


def test_catalogue_is_shaped_like_the_cars_schemas() -> None:
    all_topics = topics()
    proto = [t for t in all_topics if t.message_encoding == "protobuf"]
    can = [t for t in proto if t.proto is not None and t.proto.name == "hytech.proto"]
    main = [t for t in proto if t not in can]
    assert len(proto) >= 100
    assert 75 <= len(can) <= 85 and 15 <= len(main) <= 25
    assert all(
        1 <= t.rate_hz <= 100 and all("." not in leaf.path for leaf in t.leaves) for t in can
    )
    assert sum(len(t.leaves) for t in can) / len(can) >= 5
    assert sum(any("." in leaf.path for leaf in t.leaves) for t in main) >= 10
    assert all(100 <= t.rate_hz <= 500 for t in main if t.topic != "ACU_data")
    leaves = topic_leaves()
    vn = {leaf.path: leaf for leaf in leaves["VNData"]}
    assert {"vn_gps.lat", "vn_gps.lon", "vn_gps.altitude", "vn_vel.x", "vn_ypr.yaw"} <= set(vn)
    assert vn["vn_gps.lat"].kind == "double"
    wheels = {leaf.path for leaf in leaves["WheelSpeedData"]}
    assert {f"wheel_rpm.{w}" for w in ("FL", "FR", "RL", "RR")} <= wheels
    acu = {leaf.path: leaf for leaf in leaves["ACU_data"]}
    assert acu["cell_voltages"].repeated and acu["cell_temperatures"].repeated
    kinds = {leaf.proto_type for ls in leaves.values() for leaf in ls}
    assert {
        "float",
        "double",
        "int32",
        "uint32",
        "sint32",
        "int64",
        "uint64",
        "fixed32",
        "bool",
        "enum",
        "string",
    } <= kinds
    # The firmware version string and the state-machine enum exist.
    vcr = {leaf.path: leaf.kind for leaf in leaves["VCRStatus"]}
    assert vcr["firmware_version"] == "string" and vcr["car_state"] == "enum"
    assert JSON_TOPIC in leaves and LATE_TOPIC in leaves


def _official_class(topic_schema: bytes, name: str) -> Any:
    pool = DescriptorPool()
    for fd in FileDescriptorSet.FromString(topic_schema).file:
        pool.Add(fd)
    return GetMessageClass(pool.FindMessageTypeByName(name))


def _leaf_value(msg: Any, path: str) -> Any:
    for part in path.split("."):
        msg = getattr(msg, part)
    return msg


def test_every_field_of_every_topic_decodes_to_the_value_encoded() -> None:
    """The columnar wire encoder against the official decoder, leaf by leaf."""
    rng = np.random.default_rng(5)
    track = make_track(rng, DRIVER_LIMITS)
    vehicle = simulate(plan_drive(track, DRIVER_LIMITS, 40.0), 40.0, rng)
    t = np.linspace(0.2, 39.0, 300)  # standstill, power-up, launch and driving
    for topic in topics():
        if topic.proto is None:
            continue
        columns = topic.generate(
            Ctx(
                t,
                np.random.default_rng(1),
                vehicle,
                40.0,
                1_700_000_000 * 10**9,
                {"firmware": "2.1.0-gabc", "git_hash": "abc"},
            )
        )
        rows = topic.encode(columns, len(t))
        cls = _official_class(topic.schema_data, topic.schema_name)
        decoded = [cls.FromString(r) for r in rows]
        for leaf in topic.leaves:
            value = columns[leaf.path]
            parent = leaf.path.rpartition(".")[0]
            present = columns.get(parent)
            mask = present.mask if isinstance(present, Presence) else np.ones(len(t), dtype=bool)
            got = [_leaf_value(m, leaf.path) for m in decoded]
            where = f"{topic.topic}.{leaf.path}"
            if isinstance(value, Strings):
                assert got == [value.table[c] for c in value.codes], where
            elif isinstance(value, RowLists):
                splits = np.split(typed(value.flat, leaf.proto_type), np.cumsum(value.counts)[:-1])
                assert [list(g) for g in got] == [list(s) for s in splits], where
            elif leaf.repeated:
                want = typed(value, leaf.proto_type)
                assert np.array_equal(np.array([list(g) for g in got], dtype=want.dtype), want), (
                    where
                )
            else:
                want = np.where(mask, typed(value, leaf.proto_type), 0)
                assert np.array_equal(np.array(got, dtype=want.dtype), want.astype(want.dtype)), (
                    where
                )


# --- whole files -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zstd", "lz4", "none", "unchunked"])
def test_file_decodes_fully_with_the_official_readers(
    files: dict[str, tuple[Path, SynthSummary]], kind: str
) -> None:
    path, summary = files[kind]
    counts, kept = _decode_all(path)
    assert dict(counts) == summary.message_counts
    assert len(counts) == len(topics()) and all(n > 0 for n in counts.values())
    # 0.1 min at ~3,000-4,000 messages/s.
    assert 3000 * 6 <= summary.message_count <= 4000 * 6
    leaves = topic_leaves()
    for topic, msgs in kept.items():
        if topic == JSON_TOPIC:
            continue
        for leaf in leaves[topic]:
            _leaf_value(msgs[-1], leaf.path)  # every documented leaf path exists
    acu = kept["ACU_data"][-1]
    assert len(acu.cell_voltages) == 126 and len(acu.cell_temperatures) == 48

    with path.open("rb") as f:
        reader = make_reader(f)
        header = reader.get_header()
        file_summary = reader.get_summary()
        metadata = {m.name: m.metadata for m in reader.iter_metadata()}
    assert file_summary is not None and file_summary.statistics is not None
    stats = file_summary.statistics
    assert stats.message_count == summary.message_count
    assert stats.message_start_time == summary.first_log_time_ns
    assert header.library.startswith("pitwall synth")
    assert metadata["setup"] == summary.setup

    records, cut = _stream_records(path)
    assert not cut
    chunks = [r for r in records if isinstance(r, Chunk)]
    if kind == "unchunked":
        assert not chunks and sum(isinstance(r, Message) for r in records) == summary.message_count
    else:
        assert chunks and {c.compression for c in chunks} == {"" if kind == "none" else kind}
        # ~1 MiB chunks
        assert max(c.uncompressed_size for c in chunks) < 1.2 * 2**20


def test_setup_metadata_and_start_time_look_like_the_cars(
    files: dict[str, tuple[Path, SynthSummary]],
) -> None:
    _, summary = files["zstd"]
    setup = summary.setup
    assert set(setup) >= {
        "driver",
        "trackName",
        "eventType",
        "car",
        "drivetrainType",
        "mass",
        "wheelbase",
        "firmwareRev",
        "date",
    }
    assert all(isinstance(v, str) and v for v in setup.values())
    assert setup["eventType"] in {"endurance", "autocross", "skidpad", "acceleration", "testing"}
    import datetime as dt

    start = dt.datetime.fromtimestamp(summary.first_log_time_ns / 1e9, tz=dt.UTC)
    assert dt.datetime(2020, 1, 1, tzinfo=dt.UTC) < start < dt.datetime.now(dt.UTC)
    assert setup["date"] == start.strftime("%m-%d-%Y")
    assert summary.last_log_time_ns - summary.first_log_time_ns == pytest.approx(6e9, rel=0.02)


def test_messages_are_in_log_time_order_and_the_late_channel_starts_late(tmp_path: Path) -> None:
    path = tmp_path / "late.mcap"
    summary = write_synth(path, minutes=0.5, seed=3)
    records, _ = _stream_records(path)
    seen_messages = 0
    last_time = 0
    late_chunk = None
    chunk_index = 0
    for record in records:
        if not isinstance(record, Chunk):
            continue
        for inner in breakup_chunk(record):
            if isinstance(inner, Message):
                assert inner.log_time >= last_time
                last_time = inner.log_time
                seen_messages += 1
            elif isinstance(inner, Channel) and inner.topic == LATE_TOPIC:
                late_chunk = chunk_index
                late_after = seen_messages
        chunk_index += 1
    assert summary.late_topic == LATE_TOPIC
    assert late_chunk is not None and late_chunk >= 2
    # ~35 % of the messages were written before the late channel was declared.
    assert late_after / summary.message_count == pytest.approx(0.35, abs=0.03)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.mcap", tmp_path / "b.mcap", tmp_path / "c.mcap"
    write_synth(a, minutes=0.1, seed=42)
    write_synth(b, minutes=0.1, seed=42)
    write_synth(c, minutes=0.1, seed=43)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    u1, u2 = tmp_path / "u1.mcap", tmp_path / "u2.mcap"
    write_synth(u1, minutes=0.1, seed=42, chunked=False, truncate=True)
    write_synth(u2, minutes=0.1, seed=42, chunked=False, truncate=True)
    assert u1.read_bytes() == u2.read_bytes()


def _record_spans(data: bytes) -> list[tuple[int, int]]:
    spans, pos = [], len(MAGIC)
    while pos + 9 <= len(data):
        length = struct.unpack_from("<Q", data, pos + 1)[0]
        spans.append((pos, pos + 9 + length))
        pos += 9 + length
        if data[spans[-1][0]] == 0x02:  # footer
            break
    return spans


@pytest.mark.parametrize("chunked", [True, False])
def test_truncated_file_loses_only_the_partial_tail(tmp_path: Path, chunked: bool) -> None:
    full_path, cut_path = tmp_path / "full.mcap", tmp_path / "cut.mcap"
    full = write_synth(full_path, minutes=0.25, seed=9, chunked=chunked)
    cut = write_synth(cut_path, minutes=0.25, seed=9, chunked=chunked, truncate=True)
    data, tail = full_path.read_bytes(), cut_path.read_bytes()
    # The same bytes as the complete file up to the cut, which is inside a record.
    assert data[: len(tail)] == tail and cut.cut_offset == len(tail) == cut.size_bytes
    assert not tail.endswith(MAGIC)
    spans = _record_spans(data)
    assert all(start != len(tail) for start, _ in spans)
    assert any(start < len(tail) < end for start, end in spans)
    # ~85 % into the data section (the summary is what a switched-off logger never writes),
    # pulled back into the chunk before when that spot is a chunk's message indexes.
    summary_start = struct.unpack_from("<Q", data, len(data) - len(MAGIC) - 20)[0]
    assert 0.7 < len(tail) / summary_start < 0.86

    # The cut is in a chunk's compressed bytes or a message's data: the stream reader
    # yields the complete messages, then reports the end of the file.
    records, stopped = _stream_records(cut_path)
    assert stopped
    survived = [r for r in records if isinstance(r, Message)]
    if chunked:
        survived = [
            m
            for c in records
            if isinstance(c, Chunk)
            for m in breakup_chunk(c)
            if isinstance(m, Message)
        ]
    assert len(survived) == cut.message_count
    assert survived[-1].log_time == cut.last_log_time_ns
    # A short file has few chunks: the partial one can hold a good share of the messages.
    assert 0.5 * full.message_count < cut.message_count < full.message_count

    # ... and they are exactly the first messages of the complete file.
    full_records, _ = _stream_records(full_path)
    if chunked:
        full_msgs = [
            m
            for c in full_records
            if isinstance(c, Chunk)
            for m in breakup_chunk(c)
            if isinstance(m, Message)
        ]
    else:
        full_msgs = [r for r in full_records if isinstance(r, Message)]
    head = full_msgs[: len(survived)]
    assert [(m.channel_id, m.log_time, m.data) for m in survived] == [
        (m.channel_id, m.log_time, m.data) for m in head
    ]
    # What was lost is the tail: the summary's per-topic counts match what survived.
    channels = {r.id: r.topic for r in full_records if isinstance(r, Channel)}
    for c in full_records:
        if isinstance(c, Chunk):
            channels |= {r.id: r.topic for r in breakup_chunk(c) if isinstance(r, Channel)}
    per_topic = Counter(channels[m.channel_id] for m in survived)
    assert {k: v for k, v in cut.message_counts.items() if v} == dict(per_topic)


def test_json_channel_decodes_as_json(files: dict[str, tuple[Path, SynthSummary]]) -> None:
    path, summary = files["unchunked"]
    with path.open("rb") as f:
        reader = make_reader(f)
        file_summary = reader.get_summary()
        assert file_summary is not None
        schemas = file_summary.schemas
        rows = [
            (schemas[ch.schema_id], ch, json.loads(msg.data))
            for _, ch, msg in reader.iter_messages(topics=[JSON_TOPIC])
        ]
    assert len(rows) == summary.message_counts[JSON_TOPIC] > 0
    schema, channel, _ = rows[0]
    assert channel.message_encoding == "json" and schema.encoding == "jsonschema"
    assert set(json.loads(schema.data)["properties"]) == {"clientX", "clientY", "pressed", "label"}
    for _, _, value in rows:
        assert isinstance(value["clientX"], float) and isinstance(value["clientY"], float)
        assert isinstance(value["pressed"], bool) and isinstance(value["label"], str)


def test_hard_cases_are_present(files: dict[str, tuple[Path, SynthSummary]]) -> None:
    path, summary = files["zstd"]
    with path.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        wanted = [
            "VNData",
            "DrivetrainData",
            "EnergyMeterData",
            "ACU_data",
            "charger_data_data",
            "bms_balancing_status_data",
        ]
        by_topic: dict[str, list[tuple[int, Any, bytes]]] = {}
        for _, ch, msg, dec in reader.iter_decoded_messages(topics=wanted):
            by_topic.setdefault(ch.topic, []).append((msg.log_time, dec, msg.data))
    start = summary.first_log_time_ns
    vn = by_topic["VNData"]
    # No GPS fix at first: the whole vn_gps block is absent, later it is there.
    early = [d for t, d, _ in vn if t - start < 0.9e9]
    late = [d for t, d, _ in vn if t - start > 1.1e9]
    assert early and not any(d.HasField("vn_gps") for d in early)
    assert late and all(d.HasField("vn_gps") for d in late)
    # Right-side motors turn backwards: negative sint32 once the car moves.
    assert min(d.motor_rpm.FR for _, d, _ in by_topic["DrivetrainData"]) < -100
    # uint64 beyond the int64 range.
    assert by_topic["EnergyMeterData"] and all(d.charge_counter_uc >= 2**63 for _, d, _ in by_topic["EnergyMeterData"])
    # A repeated field whose length changes from message to message.
    assert len({len(d.balancing_cells) for _, d, _ in by_topic["ACU_data"]}) > 1
    # A message whose every field is at its default: zero bytes.
    assert by_topic["charger_data_data"] and all(data == b"" for _, _, data in by_topic["charger_data_data"])
    # Field numbers past 15 (two-byte keys).
    assert by_topic["bms_balancing_status_data"]


def test_gps_laps_close_and_wheel_speed_matches_velocity(tmp_path: Path) -> None:
    path = tmp_path / "laps.mcap"
    summary = write_synth(path, minutes=1.55, seed=5)  # a lap is 60-85 s after a 2 s launch
    assert summary.track.lap_count >= 1
    assert 55.0 <= summary.track.lap_time_s <= 90.0
    assert 300.0 <= summary.track.length_m <= 1200.0
    vn_t, lat, lon, vel = [], [], [], []
    ws_t, rpm = [], []
    with path.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _, ch, msg, d in reader.iter_decoded_messages(topics=["VNData", "WheelSpeedData"]):
            t = (msg.log_time - summary.first_log_time_ns) / 1e9
            if ch.topic == "VNData":
                if d.HasField("vn_gps"):
                    vn_t.append(t)
                    lat.append(d.vn_gps.lat)
                    lon.append(d.vn_gps.lon)
                    vel.append(math.hypot(d.vn_vel.x, d.vn_vel.y))
            else:
                ws_t.append(t)
                rpm.append([d.wheel_rpm.FL, d.wheel_rpm.FR, d.wheel_rpm.RL, d.wheel_rpm.RR])
    t_vn, speed = np.array(vn_t), np.array(vel)
    # Local metres east/north of the first fix.
    lat0, lon0 = lat[0], lon[0]
    north = np.radians(np.array(lat) - lat0) * 6_371_000.0
    east = np.radians(np.array(lon) - lon0) * 6_371_000.0 * math.cos(math.radians(lat0))

    # Laps found from the GPS trace alone: back within 3 m of the start after going far.
    away = np.hypot(east, north)
    laps, far = 0, False
    for d in away:
        if d > 100.0:
            far = True
        elif far and d < 3.0:
            laps, far = laps + 1, False
    assert laps == summary.track.lap_count
    # The distance driven around one lap is the track length.
    crossing = summary.track.lap_crossings_s[0]
    inside = (t_vn >= summary.track.launch_s) & (t_vn <= crossing)
    driven = np.hypot(np.diff(east[inside]), np.diff(north[inside])).sum()
    assert driven == pytest.approx(summary.track.length_m, rel=0.01)

    # Wheel rpm -> ground speed agrees with the INS velocity, and with the GPS positions.
    wheel_speed = np.array(rpm).mean(axis=1) * 2 * math.pi * WHEEL_RADIUS_M / 60.0
    at_vn = np.interp(t_vn, np.array(ws_t), wheel_speed)
    moving = speed > 3.0
    assert moving.mean() > 0.8
    # Tyres slip a few per cent while driving and braking.
    assert np.median(np.abs(at_vn[moving] - speed[moving]) / speed[moving]) < 0.03
    assert np.max(np.abs(at_vn[moving] - speed[moving]) / speed[moving]) < 0.08
    step = 200  # 1 s of 200 Hz samples
    gps_speed = np.hypot(east[step:] - east[:-step], north[step:] - north[:-step]) / (
        t_vn[step:] - t_vn[:-step]
    )
    mean_vel = np.convolve(speed, np.ones(step + 1) / (step + 1), "valid")
    straight = mean_vel > 3.0
    # Over a second in a corner the chord is a little shorter than the arc: 5 %.
    assert np.median(np.abs(gps_speed[straight] - mean_vel[straight]) / mean_vel[straight]) < 0.05


def test_cli_writes_a_file_and_says_what_it_wrote(tmp_path: Path) -> None:
    from pitwall.cli.synth import synth

    app = typer.Typer()
    app.command()(synth)
    out = tmp_path / "cli.mcap"
    args = [str(out), "--minutes", "0.05", "--seed", "2", "--unchunked", "--truncate"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.exists() and out.stat().st_size > 100_000
    assert "messages" in result.output and "MB" in result.output
    assert len(result.output.strip().splitlines()) == 1
    bad = CliRunner().invoke(app, [str(tmp_path / "x.mcap"), "--compression", "brotli"])
    assert bad.exit_code != 0 and not (tmp_path / "x.mcap").exists()
