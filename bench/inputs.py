"""Synth recordings the benchmarks read, cached under bench/out/inputs.

A cached file is keyed by its arguments and by a hash of the generator's source, so a
change to `pitwall.synth` never leaves a benchmark reading a file the generator would no
longer write. A sidecar JSON keeps what `write_synth` reported (message counts).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
INPUTS = OUT / "inputs"


@dataclass(frozen=True)
class Spec:
    minutes: float
    seed: int = 7
    chunked: bool = True
    compression: str = "zstd"

    @property
    def label(self) -> str:
        kind = f"chunked {self.compression}" if self.chunked else "unchunked"
        span = f"{self.minutes:g}-minute" if self.minutes >= 1 else f"{self.minutes * 60:.0f}-second"
        return f"{span} synth run ({kind})"


@dataclass(frozen=True)
class Input:
    spec: Spec
    path: Path
    size: int
    message_count: int
    message_counts: dict[str, int]
    generate_seconds: float | None  # None when read from the cache


def _generator_hash() -> str:
    import pitwall.synth as synth

    h = hashlib.sha256()
    for src in sorted(Path(next(iter(synth.__path__))).glob("*.py")):
        h.update(src.name.encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:10]


def _stem(spec: Spec) -> str:
    kind = spec.compression if spec.chunked else "unchunked"
    return f"synth-m{spec.minutes:g}-s{spec.seed}-{kind}-{_generator_hash()}"


def generate(spec: Spec) -> Input:
    """Write the file now (timed), replacing any cached copy."""
    from pitwall.synth import write_synth

    INPUTS.mkdir(parents=True, exist_ok=True)
    path = INPUTS / f"{_stem(spec)}.mcap"
    tmp = path.with_suffix(".part")
    start = time.perf_counter()
    summary = write_synth(
        tmp, minutes=spec.minutes, seed=spec.seed, chunked=spec.chunked, compression=spec.compression
    )
    seconds = time.perf_counter() - start
    tmp.replace(path)
    side = {"size": summary.size_bytes, "message_counts": summary.message_counts}
    path.with_suffix(".json").write_text(json.dumps(side))
    return Input(spec, path, summary.size_bytes, summary.message_count, summary.message_counts, seconds)


def ensure(spec: Spec) -> Input:
    """The cached file, generating it first when missing."""
    path = INPUTS / f"{_stem(spec)}.mcap"
    side = path.with_suffix(".json")
    if path.exists() and side.exists():
        meta = json.loads(side.read_text())
        if meta["size"] == path.stat().st_size:
            counts = {k: int(v) for k, v in meta["message_counts"].items()}
            return Input(spec, path, meta["size"], sum(counts.values()), counts, None)
    return generate(spec)
