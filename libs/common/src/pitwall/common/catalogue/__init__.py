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
from pitwall.common.catalogue.reading import CatalogueReader, read_catalogue
from pitwall.common.catalogue.resolve import Catalogue, name_groups, overlay
from pitwall.common.catalogue.store import source_doc, source_from_doc
from pitwall.common.catalogue.validity import pick_source
from pitwall.common.contracts.signalinfo import INFO_FIELDS, SignalInfo, SignalInfoMap, states_json, states_of

__all__ = [
    "FORMATS",
    "INFO_FIELDS",
    "CanMessage",
    "CanSignal",
    "CanSource",
    "Catalogue",
    "CatalogueEntry",
    "CatalogueError",
    "CatalogueReader",
    "SignalInfo",
    "SignalInfoMap",
    "SourceRef",
    "detect_format",
    "load_can_source",
    "match",
    "message_for_topic",
    "name_groups",
    "overlay",
    "pick_source",
    "read_catalogue",
    "source_doc",
    "source_from_doc",
    "states_json",
    "states_of",
]
