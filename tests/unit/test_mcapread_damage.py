"""Damaged input: cuts, flips, bursts, absurd lengths, lying chunks, bad payloads.

Whatever the damage, `read_recording` returns the readable messages and counts what it
skipped, or raises `NotMcapError` with one line. Never another exception, never a hang,
never a memory blow-up. A deterministic fuzz loop (seeded) covers over a thousand
damaged files per run.
"""

from __future__ import annotations

import random
import resource
import struct
import time
import zlib
from collections.abc import Callable

import lz4.frame
import numpy as np
import pytest
import zstandard
from mcapread_fixtures import (
    Spec,
    assert_matches_official,
    assert_prefix_matches_official,
    official,
    write_fixture,
)

from pitwall.common.columns import Recording
from pitwall.common.mcapread import NotMcapError, read_recording

BASES = {
    "zstd": write_fixture(Spec(messages=160, compression="zstd", chunk_size=2048, seed=31)),
    "lz4": write_fixture(Spec(messages=160, compression="lz4", chunk_size=2048, seed=32)),
    "none": write_fixture(Spec(messages=160, compression="none", chunk_size=2048, seed=33)),
    "unchunked": write_fixture(Spec(messages=160, chunked=False, compression="none", seed=34)),
}


def _records(data: bytes, start: int = 8) -> list[tuple[int, int, int]]:
    """(opcode, record offset, body length) of each complete top-level record."""
    out = []
    pos = start
    while pos + 9 <= len(data):
        op = data[pos]
        (length,) = struct.unpack_from("<Q", data, pos + 1)
        if op == 0 or pos + 9 + length > len(data):
            break
        out.append((op, pos, length))
        if op == 0x02:
            break
        pos += 9 + length
    return out


def _chunk(data: bytes, at: int) -> tuple[list[int | str], bytes]:
    """A chunk record's header fields and its decompressed records."""
    start, end, usize, crc, clen = struct.unpack_from("<QQQII", data, at + 9)
    comp = data[at + 41 : at + 41 + clen].decode()
    (dlen,) = struct.unpack_from("<Q", data, at + 41 + clen)
    payload = data[at + 49 + clen : at + 49 + clen + dlen]
    if comp == "zstd":
        raw = zstandard.ZstdDecompressor().decompress(payload, max_output_size=usize)
    elif comp == "lz4":
        raw = lz4.frame.decompress(payload)
    else:
        raw = payload
    return [start, end, usize, crc, comp], raw


def _chunk_record(
    start: int, end: int, raw: bytes, comp: str, usize: int | None = None, crc: int | None = None
) -> bytes:
    if comp == "zstd":
        payload = zstandard.ZstdCompressor().compress(raw)
    elif comp == "lz4":
        payload = lz4.frame.compress(raw)
    else:
        payload = raw
    usize = len(raw) if usize is None else usize
    crc = zlib.crc32(raw) if crc is None else crc
    name = comp.encode()
    body = (
        struct.pack("<QQQII", start, end, usize, crc, len(name))
        + name
        + struct.pack("<Q", len(payload))
        + payload
    )
    return bytes([0x06]) + struct.pack("<Q", len(body)) + body


def _replace(data: bytes, at: int, length: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + 9 + length :]


def _damage_messages(raw: bytes, rng: random.Random) -> bytes:
    """Mutate message payloads inside records, keeping every record well framed."""
    out = bytearray()
    pos = 0
    while pos + 9 <= len(raw):
        op = raw[pos]
        (length,) = struct.unpack_from("<Q", raw, pos + 1)
        body = bytearray(raw[pos + 9 : pos + 9 + length])
        if op == 0x05 and len(body) > 22 and rng.random() < 0.5:
            data = body[22:]
            how = rng.randrange(4)
            if how == 0 and data:
                for _ in range(rng.randint(1, 4)):
                    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif how == 1:
                data = data[: rng.randrange(len(data) + 1)]
            elif how == 2:
                data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
            else:
                data = bytearray(
                    rng.choice(
                        [b"\x0a\xff\xff\xff\xff\x0f", b"\xff" * 11, b"\x0b", b"\x0c", b"\x7a\x05ab"]
                    )
                )
            body = body[:22] + data
        out += bytes([op]) + struct.pack("<Q", len(body)) + body
        pos += 9 + length
    return bytes(out)


# Every kind of damage the fuzz tests make.
KINDS = ("cut", "flip", "burst", "length", "lie_size", "lie_crc", "payload", "garbage", "shift")


def _mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    recs = _records(data)
    chunks = [r for r in recs if r[0] == 0x06]
    kind = rng.choice(("cut", *KINDS))  # cuts twice as often: the loggers' usual damage
    n = len(data)
    if kind == "cut":
        return kind, data[: rng.randrange(n)]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.choice([1, 1, 2, 8, 64])):
            out[rng.randrange(n)] ^= 1 << rng.randrange(8)
        return kind, bytes(out)
    if kind == "burst":
        out = bytearray(data)
        at = rng.randrange(n)
        size = rng.randint(1, 512)
        fill = rng.choice([b"\x00", b"\xff", None])
        block = fill * size if fill else bytes(rng.randrange(256) for _ in range(size))
        out[at : at + size] = block[: max(0, min(size, n - at))]
        return kind, bytes(out[:n])
    if kind == "length":
        _op, at, _ = rng.choice(recs)
        out = bytearray(data)
        struct.pack_into(
            "<Q", out, at + 1, rng.choice([2**63 - 1, 2**64 - 1, 2**40, n * 3, 0, 1, 21])
        )
        return kind, bytes(out)
    if kind in ("lie_size", "lie_crc", "payload") and chunks:
        _, at, length = rng.choice(chunks)
        (start, end, usize, crc, comp), raw = _chunk(data, at)
        if kind == "lie_size":
            fake = rng.choice([0, 1, int(usize) // 2, int(usize) * 2, 2**40, 2**63])
            return kind, _replace(
                data, at, length, _chunk_record(start, end, raw, comp, usize=fake)
            )  # type: ignore[arg-type]
        if kind == "lie_crc":
            return kind, _replace(
                data, at, length, _chunk_record(start, end, raw, comp, crc=int(crc) ^ 0x5A5A)
            )  # type: ignore[arg-type]
        return kind, _replace(
            data, at, length, _chunk_record(start, end, _damage_messages(raw, rng), comp)
        )  # type: ignore[arg-type]
    if kind == "payload":  # unchunked: damage messages in place of the top level
        return kind, data[:8] + _damage_messages(data[8:], rng)
    if kind == "garbage" or kind in ("lie_size", "lie_crc"):
        at = rng.choice([n, rng.randrange(n)])
        junk = rng.choice(
            [
                b"\x00" * 64,
                bytes([0]) + struct.pack("<Q", 2**62),
                bytes(rng.randrange(256) for _ in range(300)),
            ]
        )
        return "garbage", data[:at] + junk + data[at:]
    # shift: delete or insert a few bytes somewhere
    at = rng.randrange(n)
    if rng.random() < 0.5:
        return kind, data[:at] + data[at + rng.randint(1, 16) :]
    return kind, data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + data[
        at:
    ]


def _check_shape(rec: Recording) -> None:
    total = 0
    for tc in rec.topics.values():
        assert tc.log_time_ns.dtype == np.int64
        for sig in tc.signals.values():
            assert sig.values.shape[0] == tc.count
        total += tc.count
    assert rec.message_count == total
    assert rec.lost_tail_bytes >= 0
    for s in rec.skipped:
        assert s.count >= 0 and "\n" not in s.reason


def test_fuzz_damaged_files() -> None:
    rng = random.Random(20240229)
    cases = 0
    kinds: dict[str, int] = {}
    worst = 0.0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    for name, base in BASES.items():
        for _ in range(300):
            kind, data = _mutate(base, rng)
            t0 = time.monotonic()
            try:
                rec = read_recording(data, threads=2 if cases % 2 else 1)
            except NotMcapError as exc:
                assert "\n" not in str(exc)
                assert data[:8] != b"\x89MCAP0\r\n"
                continue
            finally:
                worst = max(worst, time.monotonic() - t0)
                cases += 1
                kinds[kind] = kinds.get(kind, 0) + 1
            _check_shape(rec)
            if kind == "cut" and len(data) >= 8:
                # Everything the official reader gets from the cut file, we get too.
                assert_prefix_matches_official(rec, official(data))
            if kind in ("lie_crc",):
                assert any("CRC" in s.reason for s in rec.skipped), name
    elapsed = time.monotonic() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert cases >= 1200
    assert set(kinds) >= set(KINDS)
    assert worst < 5.0, f"one damaged file took {worst:.1f} s"
    assert grown_mb < 400, f"peak memory grew by {grown_mb:.0f} MB"
    assert elapsed < 120


@pytest.mark.parametrize("name", list(BASES))
def test_every_cut_keeps_every_complete_message(name: str) -> None:
    base = BASES[name]
    ref_full = official(base)
    step = max(1, len(base) // 150)
    for cut in range(8, len(base), step):
        data = base[:cut]
        rec = read_recording(data)
        _check_shape(rec)
        assert rec.truncated
        assert_prefix_matches_official(rec, official(data))
        assert rec.message_count <= ref_full.message_count


@pytest.mark.parametrize("compression", ["zstd", "lz4", "none"])
def test_cut_inside_a_compressed_chunk_salvages_its_complete_records(compression: str) -> None:
    # One big chunk: zstd and lz4 decode whole blocks (128 / 64 KiB), so a cut chunk
    # gives back the blocks before the cut.
    base = write_fixture(Spec(messages=3000, compression=compression, chunk_size=1 << 22, seed=35))
    chunks = [r for r in _records(base) if r[0] == 0x06]
    _, at, length = chunks[0]
    data = base[: at + 9 + length * 3 // 4]
    rec = read_recording(data)
    ref = official(data)  # stops before the cut chunk
    assert rec.message_count > ref.message_count
    assert rec.truncated and rec.lost_tail_bytes == len(data) - at
    assert any(s.what == "tail" for s in rec.skipped)
    assert any("cut off" in s.reason for s in rec.skipped if s.what.startswith("chunk@"))


def test_damage_in_the_middle_of_an_unchunked_file_loses_only_that_record() -> None:
    base = BASES["unchunked"]
    messages = [r for r in _records(base) if r[0] == 0x05]
    _op, at, _ = messages[len(messages) // 2]
    out = bytearray(base)
    struct.pack_into("<Q", out, at + 1, 2**62)  # an absurd length
    rec = read_recording(bytes(out))
    ref = official(base)
    assert rec.message_count == ref.message_count - 1
    assert any(s.what == f"bytes@{at}" for s in rec.skipped)
    assert not rec.truncated  # the footer is intact


def test_a_chunk_with_a_wrong_crc_is_decoded_and_reported() -> None:
    base = BASES["lz4"]
    chunks = [r for r in _records(base) if r[0] == 0x06]
    _, at, length = chunks[0]
    (start, end, _, crc, comp), raw = _chunk(base, at)
    data = _replace(base, at, length, _chunk_record(start, end, raw, comp, crc=int(crc) ^ 1))  # type: ignore[arg-type]
    rec = read_recording(data)
    assert assert_matches_official(rec, official(base)) > 0  # the data was fine, only the CRC lied
    assert any("CRC mismatch" in s.reason for s in rec.skipped)


def test_a_chunk_claiming_a_huge_size_does_not_allocate_it() -> None:
    base = BASES["zstd"]
    chunks = [r for r in _records(base) if r[0] == 0x06]
    _, at, length = chunks[0]
    (start, end, _, _, comp), raw = _chunk(base, at)
    data = _replace(base, at, length, _chunk_record(start, end, raw, comp, usize=2**62))  # type: ignore[arg-type]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rec = read_recording(data)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200
    assert assert_matches_official(rec, official(base)) > 0


def test_invalid_protobuf_payloads_drop_only_those_messages() -> None:
    base = BASES["unchunked"]
    recs = _records(base)
    messages = [r for r in recs if r[0] == 0x05]
    out = bytearray(base)
    bad = 0
    for _op, at, length in messages[::7]:
        (chan,) = struct.unpack_from("<H", out, at + 9)
        if chan == 1 and length > 30:  # the telemetry channel
            out[at + 9 + 22] = 0x0F  # field 1 with wire type 7: not protobuf
            bad += 1
    rec = read_recording(bytes(out))
    ref = official(base)
    assert bad > 3
    assert rec.topics["vehicle/telemetry"].count == len(ref.topics["vehicle/telemetry"]) - bad
    assert {"what": "vehicle/telemetry", "count": bad} in [
        {"what": s.what, "count": s.count} for s in rec.skipped if "protobuf" in s.reason
    ]


def test_proto3_string_with_bad_utf8_drops_the_message() -> None:
    import io

    from google.protobuf import descriptor_pb2
    from mcap.writer import Writer
    from mcapread_fixtures import Telemetry, proto3_file

    buf = io.BytesIO()
    w = Writer(buf)
    w.start()
    schema = descriptor_pb2.FileDescriptorSet(file=[proto3_file()]).SerializeToString()
    cid = w.register_channel(
        "t", "protobuf", w.register_schema("pw.test.Telemetry", "protobuf", schema)
    )
    good = Telemetry(name="ok", i32=5).SerializeToString()
    w.add_message(cid, 1, good, 1)
    w.add_message(cid, 2, b"\x7a\x02\xff\xfe", 2)  # field 15 (name) = invalid UTF-8
    w.add_message(cid, 3, good, 3)
    w.finish()
    rec = read_recording(buf.getvalue())
    tc = rec.topics["t"]
    assert tc.log_time_ns.tolist() == [1, 3]
    assert list(tc.signals["name"].values) == ["ok", "ok"]


def test_garbage_tail_after_a_complete_data_section() -> None:
    """Like the team's 7-minute file: an opcode-0 record with an absurd length at the end."""
    base = BASES["zstd"]
    recs = _records(base)
    data_end = next(at for op, at, _ in recs if op == 0x0F)
    data = base[: data_end + 13] + b"\x00" + struct.pack("<Q", 2**61) + bytes(500)
    rec = read_recording(data)
    assert assert_matches_official(rec, official(base)) > 0
    assert rec.lost_tail_bytes == 509 and rec.truncated


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def test_all_zero_and_random_files_after_the_magic() -> None:
    rng = random.Random(5)
    for body in (bytes(10_000), bytes(rng.randrange(256) for _ in range(20_000)), b"\xff" * 5000):
        data = b"\x89MCAP0\r\n" + body
        assert _timed(lambda d=data: _check_shape(read_recording(d))) < 5
