"""Database ingress: what the cloud lacks goes up (resumably), then is announced.

One lookup answers for every file waiting. Bytes go up only for contents the cloud
does not hold; every file name is still announced once, so a run lists all the names
it was found under. The announcement's event id comes from the content and the name:
sent twice after a crash, ingest keeps one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path

from pitwall.basestation.cloud import Cloud, CloudRefused, read_part
from pitwall.basestation.journal import Entry, Journal
from pitwall.common.logging import get_logger

log = get_logger(__name__)

CONFIRMED_STATUSES = frozenset({"ready", "recovered"})


def event_id(station_id: str, entry: Entry, attempt: int = 0) -> str:
    name = hashlib.sha256(f"{entry.source}\0{entry.path}".encode()).hexdigest()[:12]
    base = f"station.{station_id}.{entry.sha256}.{name}"
    return base if attempt == 0 else f"{base}.r{attempt}"


def source_id(station_id: str, entry: Entry) -> str:
    return f"{station_id}/{entry.source}"


async def upload(
    cloud: Cloud,
    journal: Journal,
    entry: Entry,
    spool_file: Path,
    station_id: str,
    progress: Callable[[int], None] | None = None,
    pause_before_announce_s: float = 0.0,
    parallel: int = 3,
) -> str:
    """Parts the cloud lacks, then the announcement. Returns the event id sent."""
    assert entry.sha256 is not None
    sha = entry.sha256
    opened = await cloud.open_upload(sha, entry.size, entry.name, entry.upload_id)
    if not opened.stored:
        assert opened.upload_id is not None
        if opened.upload_id != entry.upload_id:
            journal.update(entry.id, upload_id=opened.upload_id)
        upload_id = opened.upload_id
        n_parts = max(1, -(-entry.size // opened.part_size))
        done = sum(size for size in opened.parts.values())
        if opened.parts:
            log.info("upload resumed", file=entry.path, parts_in_cloud=len(opened.parts), parts=n_parts)
        todo = [n for n in range(1, n_parts + 1)
                if opened.parts.get(n) != min(opened.part_size, entry.size - (n - 1) * opened.part_size)]
        # A few parts in flight keep the uplink busy while the gateway stores the last one;
        # each read from the spool only when its turn comes (memory: parallel x part size).
        gate = asyncio.Semaphore(parallel)

        async def send(number: int) -> None:
            nonlocal done
            async with gate:
                data = await asyncio.to_thread(read_part, spool_file, number, opened.part_size)
                try:
                    await cloud.put_part(sha, upload_id, number, data)
                except CloudRefused as exc:
                    if exc.status == 404:  # the upload expired in S3: start a fresh one next pass
                        journal.update(entry.id, upload_id=None)
                    raise
                done += len(data)
                if progress is not None:
                    progress(done)

        tasks = [asyncio.ensure_future(send(n)) for n in todo]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
    else:
        upload_id = None
    log.info("parts uploaded, announcing", file=entry.path, sha256=sha, stored_before=opened.stored)
    if pause_before_announce_s:
        await asyncio.sleep(pause_before_announce_s)
    eid = event_id(station_id, entry)
    await cloud.complete(sha, upload_id, entry.size, entry.name, source_id(station_id, entry), eid)
    return eid


async def reannounce(cloud: Cloud, entry: Entry, station_id: str, attempt: int) -> str:
    """Announce an uploaded file again under a new event id (the first one was lost)."""
    assert entry.sha256 is not None
    eid = event_id(station_id, entry, attempt)
    await cloud.complete(entry.sha256, None, entry.size, entry.name, source_id(station_id, entry), eid)
    return eid
