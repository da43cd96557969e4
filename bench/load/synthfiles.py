"""The synth recordings of a load run: the seeded runs and the stream of uploads.

Cached beside the bench's other inputs (bench/out/inputs), keyed by the arguments and
the generator's source hash, so a re-run writes nothing new. Every file is distinct
(its own seed), so each upload is a new run, never a duplicate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bench import inputs

SEED_BASE = 1400  # seeded runs: 1400, 1401, ...
STREAM_BASE = 1700  # uploads during the load: 1700, 1701, ...


@dataclass(frozen=True)
class SynthFile:
    path: Path
    sha256: str
    kind: str  # "zstd", "lz4" or "cut" (logger switched off mid-file: a recovered run)

    @property
    def name(self) -> str:
        return self.path.name.split("-g", 1)[0] + ".mcap"  # without the generator hash


def synth_file(minutes: float, seed: int, kind: str = "zstd", folder: Path = inputs.INPUTS) -> SynthFile:
    from pitwall.synth import write_synth

    if kind not in ("zstd", "lz4", "cut"):
        raise ValueError(f"unknown kind {kind!r}: zstd, lz4 or cut")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"load-m{minutes:g}-s{seed}-{kind}-g{inputs._generator_hash()}.mcap"
    side = path.with_suffix(".sha256")
    if not (path.exists() and side.exists()):
        tmp = path.with_suffix(".part")
        write_synth(tmp, minutes=minutes, seed=seed, compression="lz4" if kind == "lz4" else "zstd",
                    truncate=kind == "cut")
        side.write_text(hashlib.sha256(tmp.read_bytes()).hexdigest())
        tmp.replace(path)
    return SynthFile(path, side.read_text().strip(), kind)


def seed_files(count: int, minutes: float, folder: Path = inputs.INPUTS) -> list[SynthFile]:
    """Whole recordings long enough to lap the track: what people open and plot."""
    return [synth_file(minutes, SEED_BASE + i, folder=folder) for i in range(count)]


def stream_files(count: int, minutes: float, folder: Path = inputs.INPUTS) -> list[SynthFile]:
    """Mostly whole files (zstd, some lz4), every fifth cut short (the third first, so a
    short run has one too)."""
    kinds = ("zstd", "lz4", "cut", "zstd", "zstd")
    return [synth_file(minutes, STREAM_BASE + i, kinds[i % len(kinds)], folder) for i in range(count)]
