"""Every input the fuzzers found (`fuzz_regressions/`), replayed through the contract that
found it (`tests/fuzz/contract.py`), and the bugs behind them pinned by direct tests.

A regression file is named `<sha256[:16]>-<harness>.bin`; `make fuzz` writes them.
"""

from __future__ import annotations

import gc
import hashlib
import io
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import contract  # tests/fuzz, on pytest's pythonpath (pyproject.toml)
import numpy as np
import pytest
import seeds

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"

REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"
FILES = sorted(REGRESSIONS.glob("*.bin"))


# What the reader may allocate for one of these small inputs (numpy reports its arrays
# to tracemalloc, untouched ones included); the fuzzers cap the address space instead.
PEAK_MB = 256


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_regression_input_holds_the_contract(path: Path) -> None:
    digest, harness = path.stem.split("-", 1)
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest()[:16] == digest, "named by its content"
    if harness == "services":  # parquet and MAT writers: ~10x slower under tracemalloc
        contract.CHECKS[harness](data)
        return
    tracemalloc.start()
    try:
        contract.CHECKS[harness](data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_MB << 20, f"{peak >> 20} MB allocated for a {len(data)}-byte input"


def test_every_harness_has_regressions_or_none_named_wrongly() -> None:
    for path in FILES:
        assert path.stem.split("-", 1)[1] in contract.HARNESSES, path.name


@pytest.mark.parametrize("harness", contract.HARNESSES)
def test_the_seeds_hold_the_contract(harness: str) -> None:
    """The harnesses' starting corpus passes its own contract (a broken harness or an
    oracle that disagrees with the core on valid input would show here first)."""
    for data in seeds.wire_seeds() if harness == "wire" else seeds.mcap_seeds()[:6]:
        contract.CHECKS[harness](data)


def test_reading_past_a_guarded_input_faults() -> None:
    """The guard page the harnesses put after every input does stop a stray read."""
    code = (
        "import ctypes, contract\n"
        "v = contract.guarded(b'abc')\n"
        "addr = ctypes.addressof(ctypes.c_char.from_buffer(v))\n"
        "assert ctypes.string_at(addr, 3) == b'abc'\n"
        "ctypes.string_at(addr + 3, 1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=FUZZ, capture_output=True, timeout=60)
    assert proc.returncode == -11, proc.stderr.decode()[-2000:]


def _bad_schema_file() -> bytes:
    from mcap.writer import Writer

    buf = io.BytesIO()
    w = Writer(buf)
    w.start()
    cid = w.register_channel("t", "protobuf", w.register_schema("X", "protobuf", b"\xff\xff\xff"))
    for i in range(5):
        w.add_message(cid, i, b"\x08\x01", i)
    w.finish()
    return buf.getvalue()


def test_a_schema_that_does_not_build_keeps_no_read_alive() -> None:
    """Found by fuzzing (RSS grew ~80 kB per input): the schema cache kept the
    SchemaError itself, whose traceback held the frames of the read that met it, and
    each re-raise added the next read's: every such read's decoder and buffers stayed."""
    from pitwall.common.mcapread import read_recording
    from pitwall.common.mcapread.decode import Decoder

    data = _bad_schema_file()
    for _ in range(4):
        rec = read_recording(data, threads=1)
        assert any("not a valid FileDescriptorSet" in s.reason for s in rec.skipped)
        del rec
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, Decoder)]


@pytest.mark.parametrize("rows", [1, 7])
def test_a_repeated_field_empty_in_every_row_reads_back_from_the_signal_store(rows: int) -> None:
    """Found by fuzzing the ingest -> converter path: such a column was written as a
    fixed-size list of 0, which pyarrow cannot read back (ArrowInvalid), so the run's
    series and exports failed although ingest had accepted it."""
    from pitwall.common import signalstore
    from pitwall.common.columns import Recording, Signal, TopicColumns

    sigs = {
        "cells": Signal("cells", "double", np.full((rows, 0), np.nan), repeated=True),
        "v": Signal("v", "double", np.arange(rows, dtype=np.float64)),
    }
    rec = Recording(
        topics={"t": TopicColumns("t", "S", "protobuf", np.arange(rows, dtype=np.int64), sigs)},
        origin_ns=0,
    )
    store: dict[str, bytes] = {}
    signalstore.write_recording(rec, store.__setitem__, "run")
    back = signalstore.read_recording(store.__getitem__, "run")
    cells = back.topics["t"].signals["cells"]
    assert cells.repeated and cells.values.shape == (rows, 0)
    assert back.topics["t"].signals["v"].values.tolist() == list(range(rows))


def _lying_chunk_indexes() -> bytes:
    """A small file whose chunk indexes claim a terabyte per chunk (summary CRC zeroed)."""
    from mcapread_fixtures import Spec, write_fixture

    data = bytearray(seeds._zero_crcs(write_fixture(Spec(messages=40, compression="none",
                                                         chunk_size=1024, seed=11))))  # fmt: skip
    footer = len(data) - 8 - 29
    pos = struct.unpack_from("<Q", data, footer + 9)[0]
    patched = 0
    while pos < footer:
        op = data[pos]
        (length,) = struct.unpack_from("<Q", data, pos + 1)
        if op == 0x08:  # chunk index: 4 u64, the offsets map, u64, compression, 2 u64
            (map_len,) = struct.unpack_from("<I", data, pos + 9 + 32)
            name_at = pos + 9 + 36 + map_len + 8
            (name_len,) = struct.unpack_from("<I", data, name_at)
            struct.pack_into("<QQ", data, name_at + 4 + name_len, 2**40, 2**40)
            patched += 1
        pos += 9 + length
    assert patched > 3
    return bytes(data)


def test_chunk_indexes_lying_about_sizes_cost_no_memory_and_no_messages() -> None:
    """Found while fuzzing the summary path: an indexed read reserved MAX_SLOT (2 GiB)
    per chunk from the index's sizes before fetching the chunk; where that much could
    not be had every chunk was skipped and a selected read returned nothing. Such an
    index is now inconsistent, and the selection is read linearly."""
    from pitwall.common.mcapread import read_recording
    from pitwall.common.selection import Selection

    data = _lying_chunk_indexes()
    whole = read_recording(data, threads=1)
    tracemalloc.start()
    try:
        rec = read_recording(data, Selection(topics="^legacy$"), threads=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"{peak >> 20} MB for a {len(data)}-byte file"
    assert rec.topics["legacy"].count == whole.topics["legacy"].count > 0
    assert not [s for s in rec.skipped if "memory" in s.reason]


def _first_chunk(data: bytes) -> tuple[int, int]:
    """(record offset, compression name length) of the first chunk record."""
    pos = 8
    while data[pos] != 0x06:
        pos += 9 + struct.unpack_from("<Q", data, pos + 1)[0]
    return pos, struct.unpack_from("<I", data, pos + 9 + 28)[0]


@pytest.mark.parametrize("damage", ["cut after the chunk header", "unknown compression"])
def test_a_file_whose_every_chunk_is_unusable_reads_without_an_exception(damage: str) -> None:
    """Found by fuzzing: with no usable chunk, the batches indexed an empty group list
    (IndexError), e.g. a one-chunk file cut right after its chunk's header."""
    from mcapread_fixtures import Spec, write_fixture

    from pitwall.common.mcapread import read_recording

    base = write_fixture(Spec(messages=30, compression="zstd", chunk_size=1 << 20, seed=3))
    at, name_len = _first_chunk(base)
    if damage == "unknown compression":
        data = bytearray(base)
        data[at + 9 + 32 : at + 9 + 36] = b"bz2!"
        reason = "unsupported chunk compression 'bz2!'"
    else:
        data = bytearray(base[: at + 9 + 40 + name_len])
        reason = "chunk has no data"
    rec = read_recording(bytes(data), threads=1)
    assert rec.message_count == 0
    assert reason in [s.reason for s in rec.skipped]
