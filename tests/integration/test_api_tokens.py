"""API tokens managed by admins over the API, on the real stack (query_api + ingest):
a token made in the API works within moments, its use is recorded, a revoked one is
refused, and nobody but an admin may see or touch them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from helpers.api import Api
from helpers.with_ingest import start_api_with_ingest, wait_for

from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    # Reports of token use every half second instead of every minute.
    for api, _ingest in start_api_with_ingest(settings, service_env, endpoints, tmp_path_factory.mktemp("tokens-logs"),
                                              "tokens", token_usage_report_s=0.5):
        yield api


def _listed(api: Api, token_id: str) -> dict[str, Any] | None:
    with api.client("admin") as c:
        items = c.get("/api/v1/tokens").json()["items"]
    return next((t for t in items if t["id"] == token_id), None)


def _me(api: Api, secret: str) -> httpx.Response:
    return httpx.get(f"{api.base_url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10)


def test_made_used_and_revoked_through_the_api(stack: Api) -> None:
    with stack.client("admin") as c:
        r = c.post("/api/v1/tokens", json={"name": "Ben's laptop", "role": "editor", "expires_in": "30d"})
    assert r.status_code == 202, r.text
    made = r.json()
    secret = made["secret"]
    assert secret.startswith("pw_") and made["role"] == "editor" and made["name"] == "Ben's laptop"
    expires = datetime.fromisoformat(made["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)

    # ingest stores it within moments; then it opens the API with its role and name
    me = wait_for(lambda: (resp := _me(stack, secret)).status_code == 200 and resp.json(), "the new token to work", 30)
    assert me["role"] == "editor" and me["name"] == "Ben's laptop" and me["token_id"] == made["id"]
    # the secret is nowhere in the database, only its hash
    admin_name = _me(stack, stack.tokens["admin"]).json()["name"]
    doc = stack.db["tokens"].find_one({"_id": made["id"]})
    assert doc is not None and doc["created_by"] == admin_name
    assert secret not in str(doc)

    listed = wait_for(lambda: (t := _listed(stack, made["id"])) and t["last_used_at"] and t, "last use recorded", 30)
    assert listed["state"] == "active" and listed["role"] == "editor" and listed["created_by"] == admin_name
    assert abs(datetime.fromisoformat(listed["last_used_at"]) - datetime.now(UTC)) < timedelta(seconds=30)
    assert "secret" not in listed and "hash" not in listed

    with stack.client("admin") as c:
        assert c.delete(f"/api/v1/tokens/{made['id']}").status_code == 202
    wait_for(lambda: _me(stack, secret).status_code == 401, "the revoked token to be refused", 30)
    revoked = _listed(stack, made["id"])
    assert revoked is not None and revoked["state"] == "revoked" and revoked["revoked_at"]
    with stack.client("admin") as c:
        again = c.delete(f"/api/v1/tokens/{made['id']}")
    assert again.status_code == 404 and "no active token" in again.json()["detail"]


@pytest.mark.parametrize("role", ["viewer", "uploader", "editor"])
def test_only_admins_see_or_touch_tokens(stack: Api, role: str) -> None:
    with stack.client(role) as c:
        assert c.get("/api/v1/tokens").status_code == 403
        assert c.post("/api/v1/tokens", json={"name": "x", "role": "admin"}).status_code == 403
        assert c.delete(f"/api/v1/tokens/{stack.token_ids['admin']}").status_code == 403
    assert _me(stack, stack.tokens["admin"]).status_code == 200  # still active


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "role": "owner"}, "role"),
    ({"name": "", "role": "viewer"}, "name"),
    ({"name": "x", "role": "viewer", "expires_in": "forever"}, "expires_in"),
    ({"name": "x", "role": "viewer", "expires_in": "0d"}, "expires_in"),
    ({"name": "x", "role": "viewer", "secret": "pw_mine"}, "secret"),
])
def test_bad_token_requests_name_the_field(stack: Api, body: dict[str, Any], field: str) -> None:
    with stack.client("admin") as c:
        r = c.post("/api/v1/tokens", json=body)
    assert r.status_code == 422, r.text
    assert any(field in [str(p) for p in d["loc"]] for d in r.json()["detail"]), r.text
