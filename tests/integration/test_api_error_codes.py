"""Every error answer carries a machine-readable `code` beside `detail`, on a live query_api.

The codes are the contract clients decide on (pitwall.common.contracts.errorcodes); the
expected values are written out here, not taken from the module under test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.api import T0_NS, Api, insert_run, recording, start_api

from pitwall.client import Client, PitwallError
from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-codes"), "codes"):
        insert_run(a, recording(T0_NS), "codes.mcap")
        yield a


def _answer(response: object) -> tuple[int, str, object]:
    body = response.json()  # type: ignore[attr-defined]
    return response.status_code, body["code"], body["detail"]  # type: ignore[attr-defined]


def test_an_upload_that_is_not_mcap_is_not_mcap(api: Api) -> None:
    with api.client("uploader") as http:
        status, code, detail = _answer(http.post("/api/v1/uploads", files={"file": ("x.mcap", b"PK\x03\x04 not mcap")}))
    assert (status, code) == (422, "not_mcap")
    assert isinstance(detail, list) and detail, "FastAPI's list-shaped detail keeps its shape"


def test_a_resumable_part_that_is_not_mcap_is_not_mcap(api: Api) -> None:
    sha = "ab" * 32
    with api.client("uploader") as http:
        opened = http.post("/api/v1/uploads/resumable", json={"sha256": sha, "size": 20, "filename": "x.mcap"}).json()
        part = http.put(f"/api/v1/uploads/resumable/{sha}/{opened['upload_id']}/1", content=b"not an mcap file....",
                        headers={"Content-Type": "application/octet-stream"})
    assert _answer(part)[:2] == (422, "not_mcap")


@pytest.mark.parametrize(
    ("role", "method", "path", "status", "code"),
    [
        ("admin", "GET", f"/api/v1/runs/{'0' * 64}", 404, "not_found"),
        (None, "GET", "/api/v1/runs", 401, "unauthenticated"),
        ("admin", "GET", "/api/v1/runs?limit=0", 422, "invalid"),
        ("viewer", "GET", "/api/v1/tokens", 403, "forbidden"),
        ("admin", "GET", "/api/v1/runs?recorded_after=2024-01-02&recorded_before=2024-01-01", 422, "rule"),
        ("admin", "GET", "/api/v1/no-such-thing", 404, "not_found"),
        ("admin", "PUT", "/api/v1/session", 405, "method_not_allowed"),
    ],
)
def test_the_code_names_the_reason(api: Api, role: str | None, method: str, path: str, status: int, code: str) -> None:
    with api.client(role) as http:
        assert _answer(http.request(method, path))[:2] == (status, code)


def test_a_405_lists_every_method_of_the_path(api: Api) -> None:
    with api.client("admin") as http:
        response = http.request("OPTIONS", f"/api/v1/runs/{'0' * 64}")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "PATCH", "DELETE"}


def test_the_python_client_exposes_the_code(api: Api) -> None:
    with Client(api.base_url, token=api.tokens["viewer"]) as client, pytest.raises(PitwallError) as raised:
        client.run("0" * 64)
    assert (raised.value.status, raised.value.code) == (404, "not_found")
