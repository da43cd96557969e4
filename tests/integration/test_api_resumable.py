"""The base station's upload path on the real stack: lookup, resumable upload in S3
parts (SeaweedFS here), the SHA-256 check, and ingest making one run of it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.api import T0_NS, Api, insert_run, recording, require_ok, sha_of
from helpers.with_ingest import start_api_with_ingest, wait_for

from pitwall.common.settings import Settings
from pitwall.common.storage import RESUMABLE_PART_SIZE, ObjectStore, mcap_key, staging_key
from pitwall.synth import write_synth

pytestmark = pytest.mark.stack

MAGIC = b"\x89MCAP0\r\n"
PART = RESUMABLE_PART_SIZE
OPEN = "/api/v1/uploads/resumable"


@pytest.fixture(scope="module")
def api(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    for a, _ingest in start_api_with_ingest(settings, service_env, endpoints,
                                            tmp_path_factory.mktemp("api-resumable"), "resumable"):
        yield a


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # ~19 MB: three parts of 8 MiB (the last one short), like a few minutes of a real log.
    path = tmp_path_factory.mktemp("resumable-synth") / "endurance_day2.mcap"
    write_synth(path, minutes=1.1, seed=21)
    assert 2 * PART < path.stat().st_size < 3 * PART
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parts_of(data: bytes) -> list[bytes]:
    return [data[i : i + PART] for i in range(0, len(data), PART)]


def put(c: httpx.Client, sha: str, upload_id: str, number: int, data: bytes, **headers: str) -> httpx.Response:
    return c.put(f"{OPEN}/{sha}/{upload_id}/{number}", content=data,
                 headers={"content-type": "application/octet-stream", **headers})


def open_upload(
    c: httpx.Client, sha: str, size: int, upload_id: str | None = None, filename: str = "f.mcap"
) -> dict[str, Any]:
    return require_ok(c.post(OPEN, json={"sha256": sha, "size": size, "filename": filename, "upload_id": upload_id}))


def complete(
    c: httpx.Client, sha: str, upload_id: str | None, size: int, filename: str = "f.mcap", **extra: Any
) -> httpx.Response:
    return c.post(f"{OPEN}/{sha}/complete", json={
        "upload_id": upload_id, "size": size, "filename": filename, "source_id": "pit-a/car-25", **extra,
    })


def lookup(c: httpx.Client, shas: list[str]) -> dict[str, Any]:
    return require_ok(c.post("/api/v1/runs/lookup", json={"sha256": shas}))


def fake_mcap(size: int, seed: int) -> bytes:
    # Enough for the gateway (magic bytes + SHA-256); not a run for ingest.
    return MAGIC + hashlib.shake_256(f"fake-{seed}".encode()).digest(size - len(MAGIC))


def test_interrupted_upload_resumes_and_becomes_one_run(api: Api, synth_file: Path) -> None:
    data = synth_file.read_bytes()
    sha, size = sha256(data), len(data)
    chunks = parts_of(data)
    name = synth_file.name
    store = ObjectStore(api.settings)
    with api.client("uploader") as c:
        assert lookup(c, [sha]) == {"runs": {}, "missing": [sha]}
        first = open_upload(c, sha, size, filename=name)
        assert first["stored"] is False and first["parts"] == [] and first["part_size"] == PART
        upload_id = first["upload_id"]
        stored = require_ok(put(c, sha, upload_id, 1, chunks[0], **{"X-Part-SHA256": sha256(chunks[0])}))
        assert stored == {"number": 1, "size": PART}

    # The link drops, the station reboots: it opens again with the id from its journal.
    with api.client("uploader") as c:
        again = open_upload(c, sha, size, upload_id=upload_id, filename=name)
        assert again == {"upload_id": upload_id, "part_size": PART, "parts": [{"number": 1, "size": PART}],
                         "stored": False}
        # Not all parts yet: complete says which are missing and keeps the upload.
        r = complete(c, sha, upload_id, size, name)
        assert r.status_code == 422 and "parts missing: 2, 3" in r.text, r.text
        for number, chunk in enumerate(chunks[1:], start=2):
            require_ok(put(c, sha, upload_id, number, chunk))
        # A part sent twice (its answer was lost) is one part (SeaweedFS lists both copies).
        require_ok(put(c, sha, upload_id, 2, chunks[1]))
        listed = open_upload(c, sha, size, upload_id=upload_id, filename=name)["parts"]
        assert listed == [{"number": i, "size": len(ch)} for i, ch in enumerate(chunks, start=1)]

        event_id = f"pit-a:{sha[:16]}"
        done = require_ok(complete(c, sha, upload_id, size, name, event_id=event_id), 202)
        assert done == {"id": sha, "duplicate": False, "size": size, "filename": name, "event_id": event_id}
        assert store.get_bytes(api.settings.bucket_mcap, mcap_key(sha)) == data
        assert not store.exists(api.settings.bucket_mcap, staging_key(sha))

        found = wait_for(lambda: lookup(c, [sha])["runs"].get(sha), "the run", timeout=120)
        assert found == {"status": "ready", "reason": None, "filenames": [name], "deleted": False}

        # The station crashed before it saved the answer: it completes again, same event id.
        assert open_upload(c, sha, size, upload_id=upload_id, filename=name) == {
            "upload_id": None, "part_size": PART, "parts": [], "stored": True,
        }
        repeat = require_ok(complete(c, sha, None, size, name, event_id=event_id), 202)
        assert repeat["duplicate"] is True and repeat["event_id"] == event_id
        # Another station uploads the same content under another name: still one run.
        other = require_ok(complete(c, sha, None, size, "copy.mcap", source_id="pit-b/car-25"), 202)
        assert other["event_id"] != event_id
        wait_for(lambda: "copy.mcap" in lookup(c, [sha])["runs"][sha]["filenames"], "the second name")
    runs = list(api.db["runs"].find({"_id": sha}, {"uploads": 1}))
    assert len(runs) == 1
    assert [u["event_id"] for u in runs[0]["uploads"]] == [event_id, other["event_id"]]
    assert [u["source"] for u in runs[0]["uploads"]] == ["basestation", "basestation"]
    assert [u["source_id"] for u in runs[0]["uploads"]] == ["pit-a/car-25", "pit-b/car-25"]
    assert runs[0]["uploads"][0]["uploader"] == "test-uploader"
    # The repeat of event_id was dropped by ingest's idempotency, not recorded again.
    assert api.db["processed"].find_one({"_id": event_id}) is not None


def test_content_not_matching_its_hash_is_discarded(api: Api) -> None:
    data = fake_mcap(PART + 300_000, seed=1)
    sha, size = sha256(data), len(data)
    one, two = parts_of(data)
    tampered = two[:-1] + bytes([two[-1] ^ 1])
    store = ObjectStore(api.settings)
    with api.client("uploader") as c:
        upload_id = open_upload(c, sha, size)["upload_id"]
        require_ok(put(c, sha, upload_id, 1, one))
        # Damage seen at once when the station sends the part's hash.
        r = put(c, sha, upload_id, 2, tampered, **{"X-Part-SHA256": sha256(two)})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["header", "X-Part-SHA256"], r.text
        # Without it, the whole file's hash catches it at complete.
        require_ok(put(c, sha, upload_id, 2, tampered))
        r = complete(c, sha, upload_id, size)
        assert r.status_code == 422 and "content does not match its SHA-256" in r.text, r.text
        assert not store.exists(api.settings.bucket_mcap, mcap_key(sha))
        assert not store.exists(api.settings.bucket_mcap, staging_key(sha))
        # The upload is gone: opening with its id starts a new one, from no parts.
        fresh = open_upload(c, sha, size, upload_id=upload_id)
        assert fresh["upload_id"] != upload_id and fresh["parts"] == [] and fresh["stored"] is False
        assert put(c, sha, upload_id, 1, one).status_code == 404
        assert lookup(c, [sha])["missing"] == [sha]
    assert api.db["runs"].find_one({"_id": sha}) is None


def test_a_part_sent_again_with_other_bytes_never_stores_wrong_content(api: Api) -> None:
    """S3 and MinIO keep the last copy of a part; SeaweedFS lists both and assembles the
    first. Either way no wrong content is stored: the upload completes with the last
    bytes, or it is refused as conflicting (and discarded), and a new upload works."""
    store = ObjectStore(api.settings)
    refused: list[str] = []
    for seed, via_open in ((3, False), (4, True)):
        data = fake_mcap(PART + 1000, seed=seed)
        sha, size = sha256(data), len(data)
        one, two = parts_of(data)
        with api.client("uploader") as c:
            upload_id = open_upload(c, sha, size)["upload_id"]
            require_ok(put(c, sha, upload_id, 1, MAGIC + b"\x00" * (PART - len(MAGIC))))  # a bad first copy
            require_ok(put(c, sha, upload_id, 1, one))
            require_ok(put(c, sha, upload_id, 2, two))
            if via_open:
                reopened = open_upload(c, sha, size, upload_id=upload_id)
                if reopened["upload_id"] != upload_id:  # SeaweedFS: the upload was dropped
                    refused.append("open")
                    assert reopened["parts"] == []
                    upload_id = reopened["upload_id"]
                    require_ok(put(c, sha, upload_id, 1, one))
                    require_ok(put(c, sha, upload_id, 2, two))
            r = complete(c, sha, upload_id, size)
            if r.status_code == 422:
                assert "sent twice with different content" in r.text, r.text
                refused.append("complete")
                assert not store.exists(api.settings.bucket_mcap, mcap_key(sha))
                upload_id = open_upload(c, sha, size, upload_id=upload_id)["upload_id"]
                require_ok(put(c, sha, upload_id, 1, one))
                require_ok(put(c, sha, upload_id, 2, two))
                r = complete(c, sha, upload_id, size)
            require_ok(r, 202)
        assert store.get_bytes(api.settings.bucket_mcap, mcap_key(sha)) == data
    server = store.client.stat_object(api.settings.bucket_mcap, mcap_key(sha)).metadata.get("Server", "")
    assert refused == (["complete", "open"] if "SeaweedFS" in server else []), (server, refused)


def test_parts_are_checked_as_they_come(api: Api) -> None:
    data = fake_mcap(PART + 10, seed=2)
    sha = sha256(data)
    with api.client("uploader") as c:
        upload_id = open_upload(c, sha, len(data))["upload_id"]
        r = put(c, sha, upload_id, 1, b"PK\x03\x04" + data[4:PART])
        assert r.status_code == 422 and "not an MCAP file" in r.text, r.text
        assert put(c, sha, upload_id, 1, MAGIC[:5]).status_code == 422
        assert put(c, sha, upload_id, 1, b"").status_code == 422
        r = put(c, sha, upload_id, 1, data[: PART + 1])
        assert r.status_code == 413, r.text
        # Later parts are any bytes; the first one only is an MCAP header.
        require_ok(put(c, sha, upload_id, 2, b"\x00" * 10))
        assert put(c, sha, upload_id, 0, b"x").status_code == 422
        assert put(c, sha, upload_id, 10_001, b"x").status_code == 422
        r = put(c, sha, "no-such-upload", 2, b"x")
        assert r.status_code == 404 and "open the upload again" in r.json()["detail"], r.text
        assert complete(c, sha, "no-such-upload", len(data)).status_code == 404
        assert complete(c, sha256(b"never sent"), None, 10).status_code == 404
        assert open_upload(c, sha, len(data))["parts"] == []  # nothing was stored by the refusals
    assert ObjectStore(api.settings).exists(api.settings.bucket_mcap, mcap_key(sha)) is False


def test_bad_requests(api: Api) -> None:
    sha = sha_of("bad-requests")
    with api.client("uploader") as c:
        big = c.post(OPEN, json={"sha256": sha, "size": api.settings.upload_max_bytes + 1, "filename": "x.mcap"})
        assert big.status_code == 413, big.text
        for body in (
            {"sha256": sha.upper(), "size": 10, "filename": "x.mcap"},
            {"sha256": sha, "size": 0, "filename": "x.mcap"},
            {"sha256": sha, "size": 10, "filename": ""},
            {"sha256": sha, "size": 10, "filename": "x.mcap", "upload_id": "a/b"},
            {"sha256": sha, "size": 10},
        ):
            assert c.post(OPEN, json=body).status_code == 422, body
        for extra in ({"source_id": "/abs"}, {"source_id": "x" * 129}, {"event_id": "bad id"}, {"event_id": "x" * 129}):
            assert complete(c, sha, None, 10, **extra).status_code == 422, extra
        unhashed = {"upload_id": None, "size": 1, "filename": "f", "source_id": "s"}
        assert c.post(f"{OPEN}/not-a-hash/complete", json=unhashed).status_code == 422


def test_lookup_tells_runs_from_missing_files(api: Api) -> None:
    ready = insert_run(api, recording(T0_NS, seconds=2), "ready.mcap")
    rejected = sha_of("rejected.mcap")
    api.db["runs"].insert_one({"_id": rejected, "status": "rejected", "reason": "not an MCAP file",
                               "filename": "junk.mcap",
                               "filenames": ["junk.mcap", "junk-again.mcap"], "deleted": False})
    unknown = [sha_of("unknown-1"), sha_of("unknown-2")]
    with api.client("uploader") as c:
        found = lookup(c, [unknown[1], ready["_id"], rejected, unknown[0], unknown[1]])
        assert found == {
            "runs": {
                ready["_id"]: {"status": "ready", "reason": None, "filenames": ["ready.mcap"], "deleted": False},
                rejected: {"status": "rejected", "reason": "not an MCAP file",
                           "filenames": ["junk.mcap", "junk-again.mcap"], "deleted": False},
            },
            "missing": [unknown[1], unknown[0]],
        }
        assert len(lookup(c, [sha_of(str(i)) for i in range(1000)])["missing"]) == 1000
        for bad in ([], ["ABC"], [ready["_id"].upper()], [sha_of(str(i)) for i in range(1001)]):
            assert c.post("/api/v1/runs/lookup", json={"sha256": bad}).status_code == 422


def test_a_viewer_token_may_not_upload(api: Api) -> None:
    sha = sha_of("viewer")
    with api.client("viewer") as c:
        calls = [
            c.post("/api/v1/runs/lookup", json={"sha256": [sha]}),
            c.post(OPEN, json={"sha256": sha, "size": 10, "filename": "x.mcap"}),
            put(c, sha, "some-upload", 1, MAGIC),
            complete(c, sha, None, 10),
        ]
    assert [r.status_code for r in calls] == [403] * 4
    with api.client(None) as c:
        assert c.post("/api/v1/runs/lookup", json={"sha256": [sha]}).status_code == 401
