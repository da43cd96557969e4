"""Facts about the run: when it was recorded, who drove, the car's setup (metadata)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from pitwall.synth.vehicle import MASS_KG, WHEELBASE_M

DRIVERS = ("Adam", "Priya", "Marcus", "Lena", "Tomas", "Grace", "Jon", "Sofia")
# Loops only: skidpad and acceleration runs do not lap a closed track.
EVENT_TYPES = ("endurance", "autocross", "testing")
CARS = ("HT08", "HT09")
_EPOCH = datetime(2023, 3, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RunInfo:
    start_ns: int
    setup: dict[str, str]
    extra_metadata: dict[str, dict[str, str]]
    firmware: str
    git_hash: str


def make_run_info(rng: np.random.Generator, track_name: str) -> RunInfo:
    # A test day between March 2023 and March 2025, in the US afternoon (UTC 15-22 h):
    # always in the past, whatever the clock says today.
    day = int(rng.integers(0, 730))
    second_of_day = int(rng.integers(15 * 3600, 22 * 3600))
    start = _EPOCH + timedelta(days=day, seconds=second_of_day)
    start_ns = int(start.timestamp()) * 10**9 + int(rng.integers(0, 10**9))
    major, minor, patch = 2, int(rng.integers(0, 6)), int(rng.integers(0, 10))
    git_hash = "".join("0123456789abcdef"[int(d)] for d in rng.integers(0, 16, 7))
    firmware = f"{major}.{minor}.{patch}-g{git_hash}"
    car = CARS[int(rng.integers(len(CARS)))]
    setup = {
        "date": start.strftime("%m-%d-%Y"),  # as the team's logger writes it
        "driver": DRIVERS[int(rng.integers(len(DRIVERS)))],
        "trackName": track_name,
        "eventType": EVENT_TYPES[int(rng.integers(len(EVENT_TYPES)))],
        "car": car,
        "drivetrainType": "4WD hub motors",
        "mass": f"{MASS_KG:.0f} kg",
        "wheelbase": f"{WHEELBASE_M * 1000:.0f} mm",
        "firmwareRev": firmware,
    }
    psi = {
        k: f"{float(rng.uniform(11.5, 13.0)):.1f}"
        for k in ("lf_ttpms_1", "rf_ttpms_1", "lr_ttpms_1", "rr_ttpms_1")
    }
    return RunInfo(start_ns, setup, {"TTPMS_P_AVG": psi}, firmware, git_hash)
