"""Every topic a synth file carries: name, schema, rate and how its messages are made.

`TOPICS` is the public description other code and tests use to know what a synth file
holds (`leaves` gives each topic's leaf paths and their column-model kinds).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from pitwall.synth import messages
from pitwall.synth.catalog_can import can_file, can_generator, can_messages
from pitwall.synth.catalog_nested import nested_file, nested_topics
from pitwall.synth.schemas import Leaf, MessageDef, ProtoFile, leaf_paths
from pitwall.synth.signals import Column, Ctx

# The CAN node behind this topic boots late: its Channel record first appears after a
# good share of the recording (inside a later chunk of a chunked file).
LATE_TOPIC = "dashboard_state_data"
LATE_START_FRACTION = 0.35

JSON_TOPIC = "driver_inputs"
JSON_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "DriverInput",
    "type": "object",
    "properties": {
        "clientX": {"type": "number"},
        "clientY": {"type": "number"},
        "pressed": {"type": "boolean"},
        "label": {"type": "string"},
    },
    "required": ["clientX", "clientY", "pressed", "label"],
}
_JSON_LABELS = ("", "mark", "lap", "mode", "pit")


@dataclass(frozen=True)
class TopicDef:
    topic: str
    schema_name: str
    schema_encoding: str  # "protobuf" | "jsonschema"
    message_encoding: str  # "protobuf" | "json"
    rate_hz: float
    generate: Callable[[Ctx], dict[str, Column]]
    proto: ProtoFile | None = None
    message: MessageDef | None = None
    start_fraction: float = 0.0

    @property
    def schema_data(self) -> bytes:
        if self.proto is not None:
            return _descriptor_set(self.proto)
        return json.dumps(JSON_SCHEMA, sort_keys=True).encode()

    @property
    def leaves(self) -> list[Leaf]:
        """Leaf paths a decoder should produce for this topic, in field order."""
        if self.proto is not None and self.message is not None:
            return leaf_paths(self.proto, self.message.name)
        return [
            Leaf("clientX", "double", False, "json"),
            Leaf("clientY", "double", False, "json"),
            Leaf("pressed", "logical", False, "json"),
            Leaf("label", "string", False, "json"),
        ]

    def encode(self, columns: dict[str, Column], n: int) -> list[bytes]:
        """Serialized messages, one per row."""
        if self.proto is not None and self.message is not None:
            return messages.encode(self.proto, self.message, columns, n).rows()
        return _json_rows(columns, n)


@cache
def _descriptor_set(proto: ProtoFile) -> bytes:
    return proto.descriptor_set()


def _json_gen(c: Ctx) -> dict[str, Column]:
    # A finger on the dashboard's touch screen: wanders, presses now and then.
    x = np.clip(400.0 + c.wander(300.0, 20.0) + c.noise(3.0), 0, 800)
    y = np.clip(240.0 + c.wander(200.0, 25.0) + c.noise(3.0), 0, 480)
    pressed = c.rng.random(c.n) < 0.1
    label = np.where(pressed, c.rng.integers(1, len(_JSON_LABELS), c.n), 0)
    return {
        "clientX": np.round(x, 1),
        "clientY": np.round(y, 1),
        "pressed": pressed,
        "label": label,
    }


def _json_rows(columns: dict[str, Column], n: int) -> list[bytes]:
    xs = np.asarray(columns["clientX"]).tolist()
    ys = np.asarray(columns["clientY"]).tolist()
    ps = np.asarray(columns["pressed"]).tolist()
    ls = np.asarray(columns["label"]).tolist()
    return [
        json.dumps(
            {"clientX": x, "clientY": y, "pressed": p, "label": _JSON_LABELS[lab]},
            separators=(",", ":"),
        ).encode()
        for x, y, p, lab in zip(xs, ys, ps, ls, strict=True)
    ]


@cache
def topics() -> tuple[TopicDef, ...]:
    """All topics, in a fixed order (which is also how random streams are assigned)."""
    can = can_messages()
    can_proto = can_file(can)
    nested = nested_topics()
    nested_proto = nested_file(nested)
    out: list[TopicDef] = []
    for m in can:
        topic = f"{m.name}_data"
        out.append(
            TopicDef(
                topic,
                m.name,
                "protobuf",
                "protobuf",
                m.rate_hz,
                can_generator(m),
                can_proto,
                can_proto.message(m.name),
                LATE_START_FRACTION if topic == LATE_TOPIC else 0.0,
            )
        )
    for nt in nested:
        out.append(
            TopicDef(
                nt.topic,
                nested_proto.full_name(nt.message.name),
                "protobuf",
                "protobuf",
                nt.rate_hz,
                nt.generate,
                nested_proto,
                nt.message,
            )
        )
    out.append(TopicDef(JSON_TOPIC, "DriverInput", "jsonschema", "json", 10.0, _json_gen))
    return tuple(out)


def topic_leaves() -> dict[str, list[Leaf]]:
    """Topic -> its leaf paths: what a complete decode of a synth file must contain."""
    return {t.topic: t.leaves for t in topics()}
