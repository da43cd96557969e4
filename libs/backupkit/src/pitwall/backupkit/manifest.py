"""What a backup holds, written last: a backup without its manifest was never finished."""

from __future__ import annotations

import builtins
import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANIFESTS = "manifests/"


@dataclass
class CollectionDump:
    count: int
    sha256: str  # of the canonical dump: the documents' BSON bytes in _id order
    bytes: int
    indexes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Manifest:
    id: str
    created_at: str
    version: str
    database: str
    snapshot: str  # restic snapshot of the dumps
    collections: dict[str, CollectionDump]
    objects: dict[str, int]  # target key (mcap/<sha>.mcap, signals/...) -> size
    runs: int
    with_signals: bool = False
    seconds: float = 0.0
    objects_copied: int = 0
    bytes_copied: int = 0

    @property
    def key(self) -> str:
        return f"{MANIFESTS}{self.id}.json"

    @property
    def bytes(self) -> int:
        return sum(self.objects.values()) + sum(c.bytes for c in self.collections.values())

    @property
    def documents(self) -> int:
        return sum(c.count for c in self.collections.values())

    def to_json(self) -> builtins.bytes:  # builtins: the class has a `bytes` field
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: builtins.bytes) -> Manifest:
        doc = json.loads(data)
        doc["collections"] = {k: CollectionDump(**v) for k, v in doc["collections"].items()}
        doc.pop("drill", None)  # written by the first version; the verdict lives in drills/ now
        return cls(**doc)
