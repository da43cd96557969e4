"""The catalogue as a logical dump: each collection's BSON in _id order, and its indexes.

Read through PyMongo as raw BSON, so it is the same on MongoDB and on SecantusDB, and a
restored document is byte-for-byte the one dumped. Consistency without multi-document
transactions comes from ingest's write order: a run's signal statistics are written
before its run document, and every run command is one update of one run document. So
`runs` is dumped first, the other collections after it are cut to the runs in the dump,
and the raw objects of exactly those runs are copied afterwards (objects are in S3
before the run that names them exists). `run_summaries` is not read at all: it is a
function of `runs`, so its dump is derived from the runs dumped (a restored summary
always matches its run, even when an edit landed between the two reads).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bson import decode_file_iter, encode
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient

from pitwall.backupkit.manifest import CollectionDump
from pitwall.common.contracts.mongo import RUN_SUMMARIES as SUMMARIES
from pitwall.common.contracts.mongo import RUNS, SIGNALS
from pitwall.common.summaries import run_summary

RAW = CodecOptions(document_class=RawBSONDocument)
# Collections whose documents belong to one run (field naming it): cut to the dumped runs.
PER_RUN = {SIGNALS: "run_id"}
SKIP = ("system.",)


def dump_database(client: MongoClient[Any], database: str,
                  folder: Path) -> tuple[dict[str, CollectionDump], list[dict[str, Any]]]:
    """Write `<name>.bson` and `<name>.indexes.json` per collection; the dumped runs."""
    db = client[database]
    names = sorted(n for n in db.list_collection_names() if not n.startswith(SKIP))
    if RUNS in names:
        names = sorted({*names, SUMMARIES})  # derived from the runs, present or not
    order = ([RUNS] if RUNS in names else []) + [n for n in names if n not in (RUNS, SUMMARIES)]
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, CollectionDump] = {}
    run_ids: set[Any] = set()
    runs: list[dict[str, Any]] = []
    summaries = _Writer(folder / f"{SUMMARIES}.bson") if RUNS in names else None
    for name in order:
        coll = db.get_collection(name, codec_options=RAW)
        digest = hashlib.sha256()
        count = size = 0
        field = PER_RUN.get(name)
        with open(folder / f"{name}.bson", "wb") as f:
            for doc in coll.find({}, sort=[("_id", 1)]):
                if field is not None and doc.get(field) not in run_ids:
                    continue  # statistics of a run written after `runs` was read
                raw = doc.raw
                f.write(raw)
                digest.update(raw)
                count += 1
                size += len(raw)
                if summaries is not None and name == RUNS:
                    summaries.add(encode(run_summary(doc)))
                    run_ids.add(doc["_id"])
                    runs.append({"_id": doc["_id"], "object_key": doc.get("object_key"), "sha256": doc.get("sha256"),
                                 "size": doc.get("size"), "status": doc.get("status")})
        indexes = [_index_spec(ix) for ix in db[name].list_indexes() if ix.get("name") != "_id_"]
        (folder / f"{name}.indexes.json").write_text(json.dumps(indexes, default=str, sort_keys=True))
        out[name] = CollectionDump(count, digest.hexdigest(), size, indexes)
        if summaries is not None and name == RUNS:
            summaries.close()
            indexes = [_index_spec(ix) for ix in db[SUMMARIES].list_indexes() if ix.get("name") != "_id_"]
            (folder / f"{SUMMARIES}.indexes.json").write_text(json.dumps(indexes, default=str, sort_keys=True))
            out[SUMMARIES] = CollectionDump(summaries.count, summaries.digest.hexdigest(), summaries.size, indexes)
    return out, runs


class _Writer:
    """A dump file written beside another collection's (the derived summaries)."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "wb")  # closed once `runs` is dumped
        self.digest = hashlib.sha256()
        self.count = self.size = 0

    def add(self, raw: bytes) -> None:
        self.file.write(raw)
        self.digest.update(raw)
        self.count += 1
        self.size += len(raw)

    def close(self) -> None:
        self.file.close()


def _index_spec(ix: Any) -> dict[str, Any]:
    spec = dict(ix)
    spec.pop("v", None)
    spec.pop("ns", None)
    spec["key"] = list(dict(spec["key"]).items())
    return spec


def collection_sha(client: MongoClient[Any], database: str, name: str) -> tuple[str, int]:
    """The canonical dump's SHA-256 and document count of one collection as it is now."""
    digest = hashlib.sha256()
    n = 0
    for doc in client[database].get_collection(name, codec_options=RAW).find({}, sort=[("_id", 1)]):
        digest.update(doc.raw)
        n += 1
    return digest.hexdigest(), n


def read_dump(folder: Path, name: str) -> list[RawBSONDocument]:
    with open(folder / f"{name}.bson", "rb") as f:
        return list(decode_file_iter(f, RAW))


def file_sha(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
            n += len(block)
    return digest.hexdigest(), n
