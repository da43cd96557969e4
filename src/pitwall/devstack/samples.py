"""Sample runs for the dev stack, loaded by `pitwall dev up` once the services are ready.

Called from a background thread of the supervisor; idempotent (every `dev up` calls it)
and may raise: the supervisor reports
the error and keeps the stack running.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from pitwall.common.broker import Publisher, connect
from pitwall.common.events import FileUploaded
from pitwall.common.logging import get_logger
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore

log = get_logger(__name__)

# (file name, minutes, seed, writer options): a mix of what the team's loggers write.
SAMPLES: list[tuple[str, float, int, dict[str, Any]]] = [
    ("endurance_practice.mcap", 3.0, 11, {}),
    ("autocross_run1.mcap", 2.0, 23, {"chunked": False}),
    ("testing_cutoff.mcap", 1.5, 37, {"truncate": True}),
    # Two drivers on the endurance practice's circuit, one with less grip: laps to compare
    # across runs (and one without a GPS fix: distance from wheel speed).
    ("endurance_second_driver.mcap", 3.0, 12, {"track_seed": 11, "pace": 0.92}),
    ("endurance_no_gps.mcap", 2.5, 13, {"track_seed": 11, "pace": 0.96, "gps": False}),
]


def load_samples(settings: Settings) -> list[str]:
    """Stores and announces the samples; their run ids (SHA-256), runs once ingest took them."""
    from pitwall.synth import write_synth

    folder = settings.data_dir / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    store = ObjectStore(settings)
    store.ensure_buckets()
    events: list[FileUploaded] = []
    for name, minutes, seed, opts in SAMPLES:
        path = folder / name
        if not path.exists():
            tmp = path.with_suffix(".part")
            write_synth(tmp, minutes=minutes, seed=seed, **opts)
            tmp.rename(path)
        stored = store.put_mcap_file(path)
        # Announced on every start under a fixed event id: ingest's idempotency keys
        # drop the repeats, and a sample whose first announcement was lost still lands.
        events.append(
            FileUploaded(
                event_id=f"sample-{stored.sha256}",
                sha256=stored.sha256, object_key=stored.key, size=stored.size,
                filename=Path(name).name, source="sample", uploader="pitwall dev up",
            )
        )
    if events:
        asyncio.run(_announce(settings, events))
    log.info("samples loaded", new=len(events), total=len(SAMPLES))
    return [e.sha256 for e in events]


def wait_for_runs(settings: Settings, run_ids: list[str], timeout: float = 300.0) -> int:
    """Until ingest has made every one of these runs (or `timeout`); how many it made.
    Announced is not ingested: whoever waits for the runs (the dev stack's first backup)
    must see them in the catalogue."""
    from pymongo import MongoClient

    from pitwall.common.contracts.mongo import RUNS

    client: MongoClient[dict[str, object]] = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=5000)
    try:
        runs = client[settings.mongo_db][RUNS]
        deadline = time.monotonic() + timeout
        while True:
            made = int(runs.count_documents({"_id": {"$in": run_ids}}))
            if made >= len(run_ids) or time.monotonic() > deadline:
                return made
            time.sleep(0.5)
    finally:
        client.close()


async def _announce(settings: Settings, events: list[FileUploaded]) -> None:
    connection = await connect(settings, name="samples")
    try:
        publisher = await Publisher.open(connection, settings)
        for event in events:
            await publisher.publish(event)
    finally:
        await connection.close()
