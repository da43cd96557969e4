"""What every section shares: the sizes chosen for this run, and results other sections reuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.inputs import OUT, Spec

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"

# Five leaves from five topics of every synth file: high-rate nested IMU and GPS/velocity
# signals, a wheel speed, a pedal, a state-machine enum (what someone plots first).
FIVE_SIGNALS = (
    "VNData:vn_vel.x",
    "IMUData:accel.x",
    "WheelSpeedData:wheel_rpm.FL",
    "PedalsData:accel_percent",
    "mcu_status_data:mcu_state",
)


@dataclass(frozen=True)
class Config:
    quick: bool = False
    backend: str = "auto"
    runs: int | None = None  # API: run documents to insert (None: tiers by back-end)
    list_tiers: tuple[int, ...] | None = None  # lists: run counts to measure (None: 1k, 10k, 100k)

    @property
    def small(self) -> Spec:
        return Spec(minutes=0.5 if self.quick else 1.0)

    @property
    def big(self) -> Spec:
        """The 10-minute chunked zstd run the convert, ingest and API sections share."""
        return Spec(minutes=2.0 if self.quick else 10.0)

    @property
    def huge(self) -> Spec:
        """A 30-minute run (457 MB): big enough for ingest's memory budget to show."""
        return Spec(minutes=5.0 if self.quick else 30.0)

    @property
    def tiny(self) -> Spec:
        return Spec(minutes=1 / 60)

    @property
    def repeats(self) -> int:
        """Runs of each cheap measurement; the median is reported."""
        return 3

    @property
    def topic_passes(self) -> int:
        """Per-topic route: passes actually run, then extrapolated to every topic."""
        return 2 if self.quick else 4

    @property
    def requests(self) -> int:
        """API: requests per route for p50/p99."""
        return 15 if self.quick else 50

    def run_tiers(self, backend: str) -> list[int]:
        """API: numbers of runs to measure the listing at (documents are topped up)."""
        if self.runs is not None:
            return [self.runs]
        if self.quick:
            return [300, 1000]
        # Locally MongoDB is SecantusDB, which reads every document an index walk passes:
        # 100k runs would measure it, not pitwall (docs/performance.md). Docker: mongod.
        return [5000, 100_000] if backend == "docker" else [1000, 5000]


@dataclass
class Context:
    config: Config
    out: Path = OUT
    shared: dict[str, Any] = field(default_factory=dict)  # results reused across sections
    stack: Any = None  # bench.stack.Stack, started by the first section that needs it

    def get_stack(self) -> Any:
        if self.stack is None:
            from bench.stack import Stack

            self.stack = Stack.start(self.config.backend, self.out / "stack")
        return self.stack

    def close(self) -> None:
        if self.stack is not None:
            self.stack.stop()
            self.stack = None
