"""Uploads through the real query_api into the real S3, announced on the real broker."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from helpers.api import T0_NS, Api, EventTap, insert_run, recording, require_ok, start_api

from pitwall.common.events import FileUploaded
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore, mcap_key

pytestmark = pytest.mark.stack

MAGIC = b"\x89MCAP0\r\n"
LIMIT = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-up"), "uploads",
                         upload_max_bytes=LIMIT)


@pytest.fixture(scope="module")
def big_api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-big"), "bigup")


@pytest.fixture
def tap(api: Api) -> Iterator[EventTap]:
    t = EventTap(api.settings, "file.uploaded")
    yield t
    t.close()


def mcap_like(size: int, seed: int) -> bytes:
    # The API checks only the magic bytes; making a run of it is ingest's job.
    return MAGIC + hashlib.shake_256(str(seed).encode()).digest(size - len(MAGIC))


def upload(api: Api, content: bytes, filename: str = "lap.mcap", role: str = "uploader") -> httpx.Response:
    with api.client(role) as c:
        return c.post("/api/v1/uploads", files={"file": (filename, content, "application/octet-stream")})


def test_upload_is_stored_under_its_sha_and_announced(api: Api, tap: EventTap) -> None:
    content = mcap_like(LIMIT - 5, seed=1)
    sha = hashlib.sha256(content).hexdigest()
    body = require_ok(upload(api, content, "../../etc/03_26_2024.mcap"), 202)
    assert body["id"] == sha and body["duplicate"] is False and body["size"] == len(content)
    assert body["filename"] == "03_26_2024.mcap"  # no path from the client survives
    store = ObjectStore(api.settings)
    assert store.get_bytes(api.settings.bucket_mcap, mcap_key(sha)) == content
    event = tap.get()
    assert isinstance(event, FileUploaded)
    assert (event.sha256, event.object_key, event.size, event.filename) == (sha, mcap_key(sha), len(content),
                                                                            "03_26_2024.mcap")
    assert (event.source, event.uploader, event.source_id) == ("web", "test-uploader", api.token_ids["uploader"])
    assert event.event_id == body["event_id"]

    again = require_ok(upload(api, content, "copy.mcap", role="admin"), 202)
    assert again["id"] == sha and again["duplicate"] is True
    # Announced again: ingest records the second upload (name, uploader) on the same run.
    assert tap.get().filename == "copy.mcap"


def test_content_of_an_existing_run_is_a_duplicate(api: Api, tap: EventTap) -> None:
    content = mcap_like(1000, seed=2)
    sha = hashlib.sha256(content).hexdigest()
    insert_run(api, recording(T0_NS, seconds=2), "known.mcap", sha=sha)
    assert require_ok(upload(api, content), 202)["duplicate"] is True


def test_not_mcap_is_refused_at_once_and_not_stored(api: Api, tap: EventTap) -> None:
    for content in (b"PK\x03\x04 a zip file" * 1000, b"", b"\x89MCA"):
        r = upload(api, content)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "file"]
        sha = hashlib.sha256(content).hexdigest()
        assert ObjectStore(api.settings).exists(api.settings.bucket_mcap, mcap_key(sha)) is False
    with pytest.raises(Exception):  # noqa: B017 - queue.Empty: nothing was announced
        tap.get(timeout=1.0)


def test_malformed_requests_are_422(api: Api) -> None:
    with api.client("uploader") as c:
        r = c.post("/api/v1/uploads", files={"other": ("a.mcap", MAGIC + b"x")})
        assert r.status_code == 422 and "file" in r.json()["detail"][0]["loc"]
        r = c.post("/api/v1/uploads", json={"file": "x"})
        assert r.status_code == 422
        r = c.post("/api/v1/uploads", content=b"--x\r\nbroken",
                   headers={"content-type": "multipart/form-data; boundary=x"})
        assert r.status_code == 422


def test_too_large_is_413_and_not_stored(api: Api) -> None:
    content = mcap_like(LIMIT + 1, seed=3)
    sha = hashlib.sha256(content).hexdigest()
    r = upload(api, content)
    assert r.status_code == 413, r.text

    # Without a Content-Length (chunked), the limit is enforced while counting.
    boundary = "pitwallboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mcap\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for i in range(0, len(content), 1 << 20):
            yield content[i : i + (1 << 20)]
        yield tail

    with api.client("uploader") as c:
        r = c.post("/api/v1/uploads", content=chunks(),
                   headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413, r.text
    assert not ObjectStore(api.settings).exists(api.settings.bucket_mcap, mcap_key(sha))


def test_upload_streams_instead_of_holding_the_file(big_api: Api, tmp_path: Path) -> None:
    api = big_api
    size = 160 * 1024 * 1024
    path = tmp_path / "big.mcap"
    with open(path, "wb") as fh:
        fh.write(MAGIC)
        block = os.urandom(1 << 20)
        for i in range(size // (1 << 20)):
            fh.write(i.to_bytes(8, "little") + block[8:])
    proc = psutil.Process(api.process.pid)
    base = proc.memory_info().rss
    peak = base
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            done.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with api.client("uploader") as c, open(path, "rb") as fh:
            r = c.post("/api/v1/uploads", files={"file": ("big.mcap", fh)})
    finally:
        done.set()
        sampler.join()
    body = require_ok(r, 202)
    assert body["size"] == path.stat().st_size
    growth = peak - base
    # Bounded by buffers, not by the file: the spool's memory part (8 MiB), the pipe
    # (2 MiB) and the minio SDK's multipart upload (3 parts of 16 MiB in flight, each
    # also copied): about 100 MiB at most; holding the file would be 160 MiB and more.
    assert growth < 0.75 * size, f"query_api grew by {growth / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB upload"
