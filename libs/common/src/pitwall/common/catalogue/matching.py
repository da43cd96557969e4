"""The matching rule between a CAN description and a run's signal keys (README: catalogue).

A CAN message matches a topic when the topic with a trailing `_data` removed, or the last
component of the topic's schema name (split on `.` and `/`), equals the message name ignoring
case. A CAN signal matches the field of that message whose leaf name (the last component of
the dotted path, at any depth) equals the signal name ignoring case. This is how the team's
firmware names its protobuf messages from its CAN description (`LF_TTPMS_1` ->
topic `lf_ttpms_1_data`, schema `lf_ttpms_1`, field `LF_TTPMS_P`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pitwall.common.catalogue.model import (
    CanMessage,
    CanSignal,
    CanSource,
    CatalogueEntry,
    SourceRef,
)

_SCHEMA_SEP = re.compile(r"[./]")
_DATA_SUFFIX = "_data"


def _topic_names(topic: str, schema_name: str | None) -> list[str]:
    """The names (lower case) under which `topic` may match a message, topic name first."""
    base = topic[: -len(_DATA_SUFFIX)] if topic.endswith(_DATA_SUFFIX) else topic
    names = [base.lower()]
    if schema_name:
        names.append(_SCHEMA_SEP.split(schema_name)[-1].lower())
    return names


def message_for_topic(
    messages: Mapping[str, CanMessage], topic: str, schema_name: str | None
) -> CanMessage | None:
    """The message of `messages` (keyed by lower-case name) that `topic` matches, if any."""
    for name in _topic_names(topic, schema_name):
        if name in messages:
            return messages[name]
    return None


def _index(source: CanSource) -> dict[str, CanMessage]:
    index: dict[str, CanMessage] = {}
    for msg in source.messages:
        index.setdefault(msg.name.lower(), msg)  # a duplicate name: the first definition
    return index


def _entry(signal: CanSignal, ref: SourceRef) -> CatalogueEntry:
    return CatalogueEntry(
        unit=signal.unit,
        description=signal.description,
        display_name=None,
        states=dict(signal.states),
        source=ref,
    )


def match(
    source: CanSource, topics: Mapping[str, str | None], keys: Iterable[str]
) -> dict[str, CatalogueEntry]:
    """Entries for the signal keys (`topic:path`) that `source` names.

    `topics` maps each topic of the run to its schema name (None when unknown). Keys of topics
    not in `topics` match by topic name alone.
    """
    messages = _index(source)
    ref = SourceRef(name=source.name, version=source.version, valid_from=source.valid_from)
    by_topic: dict[str, dict[str, CanSignal] | None] = {}
    out: dict[str, CatalogueEntry] = {}
    for key in keys:
        topic, sep, path = key.partition(":")
        if not sep or not path:
            continue
        if topic not in by_topic:
            msg = message_for_topic(messages, topic, topics.get(topic))
            by_topic[topic] = (
                None if msg is None else {s.name.lower(): s for s in reversed(msg.signals)}
            )
        signals = by_topic[topic]
        if signals is None:
            continue
        signal = signals.get(path.rsplit(".", 1)[-1].lower())
        if signal is not None:
            out[key] = _entry(signal, ref)
    return out
