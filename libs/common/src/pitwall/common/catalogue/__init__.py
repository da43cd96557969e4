"""The channel catalogue's transport-free core: what each signal is (unit, description, states).

`loading` reads a team's CAN description with cantools, `matching` ties its messages and
signals to a run's topics and signal keys, `validity` picks the description that applies to a
run by its recording date. Storage, API and UI build on these.
"""

from pitwall.common.catalogue.errors import CatalogueError
from pitwall.common.catalogue.formats import FORMATS, detect_format
from pitwall.common.catalogue.loading import load_can_source
from pitwall.common.catalogue.matching import match, message_for_topic
from pitwall.common.catalogue.model import (
    CanMessage,
    CanSignal,
    CanSource,
    CatalogueEntry,
    SourceRef,
)
from pitwall.common.catalogue.validity import pick_source

__all__ = [
    "FORMATS",
    "CanMessage",
    "CanSignal",
    "CanSource",
    "CatalogueEntry",
    "CatalogueError",
    "SourceRef",
    "detect_format",
    "load_can_source",
    "match",
    "message_for_topic",
    "pick_source",
]
