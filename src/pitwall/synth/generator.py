"""Write a synthetic recording: simulate the run, encode every topic, merge, write MCAP.

Deterministic: every random draw comes from streams spawned from the seed, nothing reads
the clock, and topics are merged with a stable sort, so the same seed and arguments give
a byte-identical file (with the same library versions).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from mcap.writer import CompressionType, Writer

from pitwall.synth import truncate as trunc
from pitwall.synth.catalog import TopicDef, topics
from pitwall.synth.runinfo import RunInfo, make_run_info
from pitwall.synth.signals import Ctx
from pitwall.synth.track import Limits, make_track, plan_drive
from pitwall.synth.vehicle import GPS_FIX_AFTER_S, simulate

LIBRARY = "pitwall synth 1"
CHUNK_SIZE = 1024 * 1024
TRUNCATE_AT = 0.85  # of the data section
# A testing-day pace: well inside what the car could do.
DRIVER_LIMITS = Limits(lateral=1.0 * 9.81, accel=5.0, brake=8.0, top_speed=18.0)
# Timestamp jitter of the logger (s): messages do not arrive exactly on their period.
_JITTER_S = 40e-6

_COMPRESSION = {
    "zstd": CompressionType.ZSTD,
    "lz4": CompressionType.LZ4,
    "none": CompressionType.NONE,
}


@dataclass(frozen=True, slots=True)
class TrackSummary:
    name: str
    length_m: float
    lap_count: int  # flying and standing laps completed within the recording
    lap_time_s: float  # a flying lap
    lap_crossings_s: tuple[float, ...]  # seconds after the start, within the recording
    origin_lat: float
    origin_lon: float
    launch_s: float
    gps_fix_after_s: float


@dataclass(slots=True)
class SynthSummary:
    path: Path
    topics: list[str]
    message_counts: dict[str, int]  # per topic; truncated files: messages fully before the cut
    first_log_time_ns: int
    last_log_time_ns: int  # truncated files: of the last message fully before the cut
    setup: dict[str, str]
    size_bytes: int
    track: TrackSummary
    chunked: bool
    compression: str
    truncated: bool
    cut_offset: int | None = None
    late_topic: str | None = None
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    # (start, end) in which the BMS is in BMS_STATE_FAULT (fault_at), in seconds since the
    # first message (the time base of the API and its events).
    fault_window_s: tuple[float, float] | None = None

    @property
    def message_count(self) -> int:
        return sum(self.message_counts.values())


@dataclass(slots=True)
class _Encoded:
    topic: TopicDef
    log_time: np.ndarray  # int64 ns
    rows: list[bytes]


def write_synth(
    path: str | Path,
    *,
    minutes: float,
    seed: int,
    chunked: bool = True,
    compression: str = "zstd",
    truncate: bool = False,
    track_seed: int | None = None,
    pace: float = 1.0,
    gps: bool = True,
    fault_at: float | None = None,
) -> SynthSummary:
    """Write a synthetic recording of `minutes` to `path`; same arguments, same bytes.

    `track_seed` lays the track from its own seed, so runs of different seeds (drivers,
    days) lap the same circuit and can be compared; `pace` scales what the driver uses of
    the car's grip, traction and braking (0.9: a slower driver); `gps=False` is a run whose
    GPS never gets a fix (lat/lon stay 0), as when the antenna is unplugged."""
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    if compression not in _COMPRESSION:
        raise ValueError(f"compression must be one of {sorted(_COMPRESSION)}")
    if not 0.3 <= pace <= 1.5:
        raise ValueError("pace must be between 0.3 and 1.5")
    path = Path(path)
    duration = float(minutes) * 60.0
    seq = np.random.SeedSequence(seed)
    track_seq, vehicle_seq, info_seq, topics_seq = seq.spawn(4)
    if track_seed is not None:
        track_seq = np.random.SeedSequence(track_seed).spawn(4)[0]
    # The track is sized at the reference pace, so a slower driver laps it more slowly.
    track = make_track(np.random.default_rng(track_seq), DRIVER_LIMITS)
    limits = DRIVER_LIMITS
    if pace != 1.0:
        limits = Limits(
            lateral=DRIVER_LIMITS.lateral * pace,
            accel=DRIVER_LIMITS.accel * pace,
            brake=DRIVER_LIMITS.brake * pace,
            top_speed=DRIVER_LIMITS.top_speed * math.sqrt(pace),
        )
    drive = plan_drive(track, limits, duration)
    vehicle = simulate(drive, duration, np.random.default_rng(vehicle_seq))
    run = make_run_info(np.random.default_rng(info_seq), track.name)
    info = {"firmware": run.firmware, "git_hash": run.git_hash}
    gps_fix_after_s = GPS_FIX_AFTER_S if gps else math.inf
    if not gps:
        info["gps_fix_after_s"] = "inf"
    # `fault_at`: the BMS state machine is in its FAULT state for FAULT_S from that second.
    fault = _fault_window(fault_at, duration)
    if fault is not None:
        info["fault_window_s"] = f"{fault[0]!r},{fault[1]!r}"

    all_topics = topics()
    encoded = []
    for topic, tseq in zip(all_topics, topics_seq.spawn(len(all_topics)), strict=True):
        rng = np.random.default_rng(tseq)
        t = _sample_times(topic, duration, rng)
        log_time = run.start_ns + np.round(t * 1e9).astype(np.int64)
        if len(t) == 0:  # a slow topic in a very short recording
            encoded.append(_Encoded(topic, log_time, []))
            continue
        columns = topic.generate(Ctx(t, rng, vehicle, duration, run.start_ns, info))
        encoded.append(_Encoded(topic, log_time, topic.encode(columns, len(t))))

    trail = trunc.Trail() if truncate else None
    with path.open("wb") as stream:
        order_topic, order_time = _write(stream, encoded, run, chunked, compression, trail)
    size = path.stat().st_size
    counts = {e.topic.topic: len(e.rows) for e in encoded}
    first, last = int(order_time[0]), int(order_time[-1])
    cut: int | None = None
    if trail is not None:
        cut = trunc.choose_cut(path, trail, TRUNCATE_AT)
        kept = trunc.complete_messages(path, trail, cut, chunked)
        trunc.cut_file(path, cut)
        size = cut
        per_topic = np.bincount(order_topic[:kept], minlength=len(encoded))
        counts = {e.topic.topic: int(per_topic[k]) for k, e in enumerate(encoded)}
        last = int(order_time[kept - 1]) if kept else first
    return SynthSummary(
        path=path,
        topics=[e.topic.topic for e in encoded],
        message_counts=counts,
        first_log_time_ns=first,
        last_log_time_ns=last,
        setup=dict(run.setup),
        size_bytes=size,
        track=TrackSummary(
            name=track.name,
            length_m=track.length_m,
            lap_count=drive.laps_completed(duration),
            lap_time_s=drive.lap_time_s,
            lap_crossings_s=tuple(c for c in drive.lap_crossings_s if c <= duration),
            origin_lat=track.origin_lat,
            origin_lon=track.origin_lon,
            launch_s=float(drive.t_grid[1]),
            gps_fix_after_s=gps_fix_after_s,
        ),
        chunked=chunked,
        compression=compression if chunked else "none",
        truncated=truncate,
        cut_offset=cut,
        late_topic=next((t.topic for t in all_topics if t.start_fraction > 0), None),
        metadata={"setup": dict(run.setup), **run.extra_metadata},
        # In the API's time base (seconds since the file's first message), as events are.
        fault_window_s=None if fault is None else (fault[0] - (first - run.start_ns) / 1e9,
                                                   fault[1] - (first - run.start_ns) / 1e9),
    )


FAULT_S = 3.0


def _fault_window(fault_at: float | None, duration: float) -> tuple[float, float] | None:
    if fault_at is None:
        return None
    if not 0.0 <= fault_at < duration:
        raise ValueError(f"fault_at must be within the recording (0 to {duration:g} s)")
    return float(fault_at), min(float(fault_at) + FAULT_S, duration)


def _sample_times(topic: TopicDef, duration: float, rng: np.random.Generator) -> np.ndarray:
    """Seconds since start of each message: on the topic's period, with a random phase
    and a little jitter, strictly increasing."""
    period = 1.0 / topic.rate_hz
    start = topic.start_fraction * duration + float(rng.uniform(0.0, period))
    n = max(0, math.ceil((duration - start) / period))
    t = start + np.arange(n) * period
    t += np.clip(rng.normal(0.0, _JITTER_S, n), -0.2 * period, 0.2 * period)
    return t[t < duration]


def _write(
    stream: BinaryIO,
    encoded: list[_Encoded],
    run: RunInfo,
    chunked: bool,
    compression: str,
    trail: trunc.Trail | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Write the file; returns the topic index and log time of each message, in write order."""
    # Global log-time order, ties broken by topic order (stable sort): like one logger.
    times = np.concatenate([e.log_time for e in encoded])
    topic_of = np.concatenate(
        [np.full(len(e.rows), k, dtype=np.int64) for k, e in enumerate(encoded)]
    )
    seq_of = np.concatenate([np.arange(len(e.rows), dtype=np.int64) for e in encoded])
    order = np.argsort(times, kind="stable")
    times, topic_of, seq_of = times[order], topic_of[order], seq_of[order]
    offsets = np.cumsum([0] + [len(e.rows) for e in encoded])
    rows: list[bytes] = [r for e in encoded for r in e.rows]
    data = [rows[i] for i in (offsets[topic_of] + seq_of).tolist()]
    del rows

    writer = Writer(
        stream,
        chunk_size=CHUNK_SIZE,
        compression=_COMPRESSION[compression],
        use_chunking=chunked,
    )

    def noted(call, *args, n: int):  # type: ignore[no-untyped-def]
        before = stream.tell()
        result = call(*args)
        if trail is not None:
            trail.note(before, stream.tell(), n)
        return result

    noted(writer.start, "", LIBRARY, n=0)
    for name, values in (("setup", run.setup), *run.extra_metadata.items()):
        noted(writer.add_metadata, name, values, n=0)

    # Channels are registered when their first message arrives, as the team's logger
    # does: a topic that starts late gets its Channel record late in the file.
    first_at = {}
    for k in range(len(encoded)):
        hits = np.flatnonzero(topic_of == k)
        if hits.size:
            first_at[int(hits[0])] = k
    channel_of = [0] * len(encoded)
    breaks = [*sorted(first_at), len(data)]
    times_l, topic_l, seq_l = times.tolist(), topic_of.tolist(), seq_of.tolist()
    add = writer.add_message
    for lo, hi in itertools.pairwise(breaks):
        t = encoded[first_at[lo]].topic
        schema_id = noted(
            writer.register_schema, t.schema_name, t.schema_encoding, t.schema_data, n=lo
        )
        channel_of[first_at[lo]] = noted(
            writer.register_channel, t.topic, t.message_encoding, schema_id, n=lo
        )
        chans = [channel_of[k] for k in topic_l[lo:hi]]
        if trail is None:
            for ch, lt, sq, payload in zip(
                chans, times_l[lo:hi], seq_l[lo:hi], data[lo:hi], strict=True
            ):
                add(ch, lt, payload, lt, sq)
        else:
            tell, note = stream.tell, trail.note
            before = tell()
            for i, (ch, lt, sq, payload) in enumerate(
                zip(chans, times_l[lo:hi], seq_l[lo:hi], data[lo:hi], strict=True), start=lo + 1
            ):
                add(ch, lt, payload, lt, sq)
                after = tell()
                if after != before:
                    note(before, after, i)
                    before = after
    noted(writer.finish, n=len(data))
    return topic_of, times
