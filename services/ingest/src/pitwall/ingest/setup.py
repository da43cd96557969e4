"""The run's setup from MCAP metadata records, with the team's key spellings normalised."""

from __future__ import annotations

import re
from typing import Any

SETUP_FIELDS = ("driver", "track", "event_type", "car", "drivetrain", "mass", "wheelbase", "firmware", "date")

# Spellings seen in the team's files (camelCase from the car's web UI) and obvious variants.
_ALIASES = {
    "driver": "driver",
    "drivername": "driver",
    "track": "track",
    "trackname": "track",
    "location": "track",
    "eventtype": "event_type",
    "event": "event_type",
    "car": "car",
    "carname": "car",
    "vehicle": "car",
    "drivetrain": "drivetrain",
    "drivetraintype": "drivetrain",
    "mass": "mass",
    "carmass": "mass",
    "wheelbase": "wheelbase",
    "firmware": "firmware",
    "firmwarerev": "firmware",
    "firmwareversion": "firmware",
    "date": "date",
}
EVENT_TYPES = ("endurance", "autocross", "skidpad", "acceleration", "testing")
SETUP_RECORD_NAMES = ("setup", "run_setup", "metadata")


def _norm_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def normalise_setup(metadata: dict[str, dict[str, str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """(setup with every known field, None when absent; the raw key/values found)."""
    raw: dict[str, str] = {}
    for name in SETUP_RECORD_NAMES:
        for rec_name, values in metadata.items():
            if rec_name.lower() == name:
                raw.update(values)
    setup: dict[str, Any] = dict.fromkeys(SETUP_FIELDS)
    for key, value in raw.items():
        field = _ALIASES.get(_norm_key(key))
        if field is None or value is None:
            continue
        text = " ".join(str(value).split())
        if not text:
            continue
        if field == "event_type":
            low = text.lower()
            text = next((e for e in EVENT_TYPES if e in low or low in e), low)
        setup[field] = text
    return setup, raw
