"""Realistic, deterministic sample recordings shaped like the team's car logs.

`write_synth` writes one MCAP file; `topics()` / `topic_leaves()` describe what such a
file holds (topic, schema, rate, leaf paths), so other code can check a full decode.
"""

from pitwall.synth.catalog import JSON_TOPIC, LATE_TOPIC, TopicDef, topic_leaves, topics
from pitwall.synth.generator import SynthSummary, TrackSummary, write_synth
from pitwall.synth.schemas import Leaf
from pitwall.synth.vehicle import GEAR_RATIO, WHEEL_RADIUS_M, WHEELS

__all__ = [
    "GEAR_RATIO",
    "JSON_TOPIC",
    "LATE_TOPIC",
    "WHEELS",
    "WHEEL_RADIUS_M",
    "Leaf",
    "SynthSummary",
    "TopicDef",
    "TrackSummary",
    "topic_leaves",
    "topics",
    "write_synth",
]
