"""Access control on the real query_api: tokens, roles, revocation, the web page's cookie."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers.api import T0_NS, Api, insert_run, recording, require_ok, sha_of, start_api
from testsupport.waiting import wait_for

from pitwall.common import db
from pitwall.common import tokenstore as tokens
from pitwall.common.contracts import mongo
from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack

RUN = sha_of("auth-run.mcap")
DELETED = sha_of("auth-deleted.mcap")


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-auth"), "auth"):
        insert_run(a, recording(T0_NS), "auth-run.mcap")
        insert_run(a, recording(T0_NS + 10**12), "auth-deleted.mcap", deleted=True)
        yield a


# Every protected operation with a request that passes validation, so what answers is auth.
def _requests() -> list[tuple[str, str, dict[str, object]]]:
    return [
        ("GET", "/api/v1/runs", {}),
        ("GET", "/api/v1/facets", {}),
        ("GET", "/api/v1/me", {}),
        ("GET", f"/api/v1/runs/{RUN}", {}),
        ("GET", f"/api/v1/runs/{RUN}/signals", {}),
        ("GET", f"/api/v1/runs/{RUN}/series", {"params": {"signals": "VNData:vn_vel.x"}}),
        ("GET", f"/api/v1/runs/{RUN}/track", {}),
        ("GET", f"/api/v1/runs/{RUN}/laps", {}),
        ("GET", f"/api/v1/runs/{RUN}/mcap", {}),
        ("PATCH", f"/api/v1/runs/{RUN}", {"json": {"notes": "x"}}),
        ("DELETE", f"/api/v1/runs/{RUN}", {}),
        ("POST", f"/api/v1/runs/{RUN}/restore", {}),
        ("POST", "/api/v1/uploads", {"files": {"file": ("x.mcap", b"not mcap")}}),
        ("POST", "/api/v1/exports", {"json": {"runs": [RUN], "signals": ["VNData:*"]}}),
        ("GET", "/api/v1/exports/0123456789abcdef0123456789abcdef", {}),
    ]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer pw_not-a-token", "Basic dXNlcjpwYXNz"])
def test_missing_or_wrong_token_is_401_everywhere(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    with httpx.Client(base_url=api.base_url, timeout=30) as c:
        for method, path, kwargs in _requests():
            r = c.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.headers.get("www-authenticate") == "Bearer"
        # Health needs no token: a load balancer must be able to ask.
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200


# What each role may do (True) among the operations above; others must be 403.
ALLOWED = {
    "viewer": {"read", "export"},
    "uploader": {"read", "export", "upload"},
    "editor": {"read", "export", "edit"},
    "admin": {"read", "export", "upload", "edit", "admin"},
}


def _needs(method: str, path: str) -> str:
    if path.endswith("/restore"):
        return "admin"
    if path == "/api/v1/uploads":
        return "upload"
    if method in ("PATCH", "DELETE"):
        return "edit"
    if path == "/api/v1/exports":
        return "export"
    return "read"


@pytest.mark.parametrize("role", ["viewer", "uploader", "editor", "admin"])
def test_each_role_gets_403_exactly_where_it_lacks_the_right(api: Api, role: str) -> None:
    with api.client(role) as c:
        for method, path, kwargs in _requests():
            r = c.request(method, path, **kwargs)  # type: ignore[arg-type]
            if _needs(method, path) in ALLOWED[role]:
                # Allowed: anything but 401/403 (uploads of junk are 422, the made-up export 404).
                assert r.status_code not in (401, 403), (role, method, path, r.text)
                assert r.status_code < 500, (role, method, path, r.text)
            else:
                assert r.status_code == 403, (role, method, path, r.status_code, r.text)
                assert role in r.json()["detail"]


def test_editor_may_delete_and_admin_restore(api: Api) -> None:
    target = insert_run(api, recording(T0_NS + 5 * 10**12), "auth-victim.mcap")["_id"]
    with api.client("editor") as editor, api.client("admin") as admin:
        accepted = require_ok(editor.delete(f"/api/v1/runs/{target}"), 202)
        assert accepted["action"] == "delete" and accepted["run_id"] == target
        assert editor.post(f"/api/v1/runs/{target}/restore").status_code == 403
        assert require_ok(admin.post(f"/api/v1/runs/{target}/restore"), 202)["action"] == "restore"


def test_deleted_runs_exist_only_for_admins(api: Api) -> None:
    with api.client("viewer") as viewer, api.client("admin") as admin:
        assert viewer.get(f"/api/v1/runs/{DELETED}").status_code == 404
        assert viewer.get(f"/api/v1/runs/{DELETED}/track").status_code == 404
        assert viewer.get("/api/v1/runs", params={"include_deleted": True}).status_code == 403
        ids = [r["id"] for r in require_ok(viewer.get("/api/v1/runs"))["items"]]
        assert DELETED not in ids and RUN in ids
        assert require_ok(admin.get(f"/api/v1/runs/{DELETED}"))["deleted"] is True
        ids = [r["id"] for r in require_ok(admin.get("/api/v1/runs", params={"include_deleted": True}))["items"]]
        assert DELETED in ids


def test_revoked_token_is_refused_within_seconds(api: Api) -> None:
    async def make() -> tuple[str, str]:
        client = db.make_client(api.settings)
        try:
            info, secret = await tokens.create(db.database(client, api.settings)[mongo.TOKENS], "viewer",
                                               "short-lived")
            return info.id, secret
        finally:
            await client.close()

    async def revoke(token_id: str) -> bool:
        client = db.make_client(api.settings)
        try:
            return await tokens.revoke(db.database(client, api.settings)[mongo.TOKENS], token_id)
        finally:
            await client.close()

    token_id, secret = asyncio.run(make())
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=30) as c:
        me = require_ok(c.get("/api/v1/me"))
        assert me == {"token_id": token_id, "name": "short-lived", "role": "viewer", "permissions": ["export", "read"]}
        assert asyncio.run(revoke(token_id))
        # The 5 s are the promise under test: a revocation reaches every query_api within them.
        wait_for(lambda: c.get("/api/v1/runs").status_code != 200, "the revoked token to be refused", timeout=5,
                 every=0.2)
        assert c.get("/api/v1/runs").status_code == 401


def test_web_page_session_cookie(api: Api) -> None:
    with httpx.Client(base_url=api.base_url, timeout=30) as c:
        assert c.post("/api/v1/session", json={"token": "pw_wrong"}).status_code == 401
        r = c.post("/api/v1/session", json={"token": api.tokens["editor"]})
        me = require_ok(r)
        assert me["role"] == "editor"
        set_cookie = r.headers["set-cookie"].lower()
        assert "pitwall_token=" in set_cookie and "httponly" in set_cookie and "samesite=strict" in set_cookie
        # The cookie alone authenticates (the page's scripts never see the token).
        assert require_ok(c.get("/api/v1/me"))["role"] == "editor"
        assert c.get(f"/api/v1/runs/{RUN}").status_code == 200
        assert c.delete("/api/v1/session").status_code == 204
        assert c.get("/api/v1/me").status_code == 401


def test_token_cli_create_list_revoke(api: Api, service_env: dict[str, str], tmp_path: Any) -> None:
    from pitwall.devstack.endpoints import settings_env

    env = dict(service_env) | settings_env(api.settings)

    def pitwall(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pitwall.cli.main", "token", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    made = pitwall("create", "--role", "uploader", "--name", "base station 1")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("pw_") and secret not in made.stderr
    listed = pitwall("list")
    assert "base station 1" in listed.stdout and secret not in listed.stdout
    token_id = next(line.split()[0] for line in listed.stdout.splitlines() if "base station 1" in line)
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=30) as c:
        assert require_ok(c.get("/api/v1/me"))["role"] == "uploader"
        assert pitwall("revoke", token_id).returncode == 0
        assert pitwall("revoke", token_id).returncode == 1  # already revoked: says so
        wait_for(lambda: c.get("/api/v1/me").status_code == 401, "the revoked token to be refused", timeout=5,
                 every=0.2)
    assert pitwall("create", "--role", "superuser").returncode != 0

    # `make up`: the admin token is made once and then reused.
    path = tmp_path / "admin-token"
    first = pitwall("ensure-admin", "--file", str(path))
    second = pitwall("ensure-admin", "--file", str(path))
    assert first.returncode == 0 and first.stdout == second.stdout == path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
