"""Seed corpora for the harnesses: small valid inputs, generated on the fly.

Reader and services get small MCAP files of every layout the core reads (chunked with
zstd / lz4 / no compression, unchunked, without a summary), each also with its CRCs
zeroed (so a mutation inside the summary or a chunk is read, not refused for its CRC),
the team's two real files by path when `../shared/data/hytech` is there (never copied
into the repository) and a cut-off prefix of a synth car file. The wire harness gets
valid protobuf messages of the fixture schemas (every field kind).
"""

from __future__ import annotations

import hashlib
import random
import struct
import tempfile
from pathlib import Path

import contract  # noqa: F401  (puts tests/unit on sys.path)
from mcapread_fixtures import HYTECH, Spec, legacy_bytes, telemetry, write_fixture

# Past this an input is cut when loaded (libFuzzer's -max_len): the synth prefix is cut
# to it on purpose, a cut file being the loggers' usual damage.
MAX_LEN = {"reader": 96 << 10, "services": 96 << 10, "wire": 4096}


def _zero_crcs(data: bytes) -> bytes:
    """Zero the summary CRC in the footer and every chunk's uncompressed CRC."""
    out = bytearray(data)
    pos = 8
    while pos + 9 <= len(out):
        op = out[pos]
        (length,) = struct.unpack_from("<Q", out, pos + 1)
        if op == 0 or pos + 9 + length > len(out):
            break
        if op == 0x06 and length >= 28:
            struct.pack_into("<I", out, pos + 9 + 24, 0)
        if op == 0x02:
            struct.pack_into("<I", out, pos + 9 + 16, 0)
            break
        pos += 9 + length
    return bytes(out)


def mcap_seeds() -> list[bytes]:
    specs = [
        Spec(messages=40, compression="none", chunk_size=1024, seed=11),
        Spec(messages=40, compression="zstd", chunk_size=1024, seed=12),
        Spec(messages=40, compression="lz4", chunk_size=2048, seed=13),
        Spec(messages=30, chunked=False, compression="none", seed=14),
        Spec(messages=40, compression="none", chunk_size=1024, summary=False, seed=15),
        Spec(messages=12, compression="none", chunk_size=512, json_channel=False, seed=16),
    ]
    out: list[bytes] = []
    for spec in specs:
        data = write_fixture(spec)
        out += [data, _zero_crcs(data)]
    for name in ("03_26_2024_23_10_23_RECOVERED_V2.mcap", "02_29_2024_19_30_56.mcap"):
        path = HYTECH / name
        if path.is_file():
            out.append(path.read_bytes())
    out.append(_synth_prefix())
    return out


def _synth_prefix() -> bytes:
    from pitwall.synth import write_synth

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synth.mcap"
        write_synth(path, minutes=0.002, seed=5, compression="lz4")
        with path.open("rb") as fh:
            return fh.read(MAX_LEN["reader"])


def wire_seeds() -> list[bytes]:
    from contract import wire_input

    rng = random.Random(7)
    out = []
    for _ in range(24):
        msgs = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.6:
                msgs.append((1, telemetry(rng).SerializeToString()))
            else:
                msgs.append((2, legacy_bytes(rng)))
        out.append(wire_input(msgs))
    return out


def write_seeds(harness: str, folder: Path) -> int:
    """Write the harness's seeds into `folder` (named by content); how many."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = wire_seeds() if harness == "wire" else mcap_seeds()
    for data in seeds:
        (folder / f"seed-{hashlib.sha256(data).hexdigest()[:16]}").write_bytes(data)
    return len(seeds)
