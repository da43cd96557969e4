"""On the real query_api: wrong tokens limited per client, expiring tokens, security
headers, presigned links that die."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from helpers.api import T0_NS, Api, insert_run, recording, require_ok, sha_of, start_api

from pitwall.common import db
from pitwall.common import tokenstore as tokens
from pitwall.common.contracts import mongo
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore, mcap_key

pytestmark = pytest.mark.stack

MAX_FAILURES = 5
WINDOW_S = 2.0
PRESIGN_S = 2
RUN = sha_of("security-run.mcap")


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in start_api(
        settings, dict(service_env), tmp_path_factory.mktemp("api-security"), "security",
        auth_max_failures=MAX_FAILURES, auth_failure_window_s=WINDOW_S, presign_expiry_s=PRESIGN_S,
    ):
        insert_run(a, recording(T0_NS), "security-run.mcap")
        yield a


def _from(api: Api, ip: str, token: str | None = None) -> httpx.Client:
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (FORWARDED_ALLOW_IPS): each test is its
    # own client, as if behind a proxy on this host.
    headers = {"X-Forwarded-For": ip} | ({"Authorization": f"Bearer {token}"} if token else {})
    return httpx.Client(base_url=api.base_url, headers=headers, timeout=30)


def _login(c: httpx.Client, token: str) -> httpx.Response:
    c.cookies.clear()
    return c.post("/api/v1/session", json={"token": token})


def _log_lines(api: Api, event: str) -> list[dict[str, Any]]:
    out = []
    for line in api.process.log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == event:
            out.append(entry)
    return out


def test_a_burst_of_wrong_logins_is_answered_429_then_forgiven(api: Api) -> None:
    with _from(api, "198.51.100.7") as guesser, _from(api, "198.51.100.8") as colleague:
        for i in range(MAX_FAILURES - 1):
            assert _login(guesser, f"pw_guess-{i}").status_code == 401
        locked = _login(guesser, f"pw_guess-{MAX_FAILURES}")
        assert locked.status_code == 429, locked.text
        retry_after = int(locked.headers["retry-after"])
        assert 1 <= retry_after <= WINDOW_S + 1
        assert "too many wrong tokens" in locked.json()["detail"]
        # Locked out means the token is not even looked up: the right one is refused too.
        assert _login(guesser, api.tokens["viewer"]).status_code == 429
        # Another client is not affected.
        assert require_ok(_login(colleague, api.tokens["viewer"]))["role"] == "viewer"
        # Waiting out the lockout is the behaviour under test: Retry-After says when the client is
        # forgiven and the test takes it at its word (a poll would be a try while still locked out).
        time.sleep(retry_after + 0.2)
        assert require_ok(_login(guesser, api.tokens["viewer"]))["role"] == "viewer"
    lockouts = [e for e in _log_lines(api, "too many wrong tokens: client locked out")
                if e.get("client") == "198.51.100.7"]
    assert len(lockouts) == 1 and lockouts[0]["level"] == "warning", lockouts
    wrong = [e for e in _log_lines(api, "wrong token") if e.get("client") == "198.51.100.7"]
    assert len(wrong) == MAX_FAILURES and {e["how"] for e in wrong} == {"login"}


def test_bearer_tokens_count_too_and_success_resets(api: Api) -> None:
    with _from(api, "198.51.100.9") as c:
        for round_ in range(2):
            for i in range(MAX_FAILURES - 1):
                r = c.get("/api/v1/runs", headers={"Authorization": f"Bearer pw_bad-{round_}-{i}"})
                assert r.status_code == 401, r.text
            # A good token forgets the failures: the next round starts from zero.
            assert c.get("/api/v1/runs", headers={"Authorization": f"Bearer {api.tokens['viewer']}"}).status_code == 200
        for i in range(MAX_FAILURES):
            r = c.get("/api/v1/runs", headers={"Authorization": f"Bearer pw_bad-last-{i}"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_one_stale_token_repeated_does_not_lock_a_client_out(api: Api) -> None:
    # A page with a revoked cookie sends it on every call: that is one wrong token, not N.
    with _from(api, "198.51.100.10", "pw_revoked-long-ago") as c:
        assert {c.get("/api/v1/me").status_code for _ in range(3 * MAX_FAILURES)} == {401}


async def _make_token(settings: Settings, role: str, name: str, **set_fields: Any) -> str:
    client = db.make_client(settings)
    try:
        coll = db.database(client, settings)[mongo.TOKENS]
        info, secret = await tokens.create(coll, role, name, expires_in=timedelta(days=1))
        if set_fields:  # e.g. an expiry in the past: as if the day had gone by
            await coll.update_one({"_id": info.id}, {"$set": set_fields})
        return secret
    finally:
        await client.close()


async def _legacy_token(settings: Settings) -> str:
    """A token as made before expiry existed: no `expires_at` field at all."""
    client = db.make_client(settings)
    try:
        coll = db.database(client, settings)[mongo.TOKENS]
        info, secret = await tokens.create(coll, "viewer", "legacy")
        await coll.update_one({"_id": info.id}, {"$unset": {"expires_at": ""}})
        assert "expires_at" not in (await coll.find_one({"_id": info.id}) or {})
        return secret
    finally:
        await client.close()


def test_expired_tokens_are_refused_with_a_clear_401(api: Api) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    expired = asyncio.run(_make_token(api.settings, "editor", "expired", expires_at=past))
    expiring = asyncio.run(_make_token(api.settings, "viewer", "expiring"))
    legacy = asyncio.run(_legacy_token(api.settings))
    with _from(api, "198.51.100.11") as c:
        r = c.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["detail"] == f"token expired at {past:%Y-%m-%d %H:%M:%S} UTC; ask an admin for a new one"
        r = _login(c, expired)
        assert r.status_code == 401 and "expired" in r.json()["detail"] and "set-cookie" not in r.headers
        assert require_ok(c.get("/api/v1/me", headers={"Authorization": f"Bearer {legacy}"}))["name"] == "legacy"
        r = _login(c, expiring)
        assert require_ok(r)["name"] == "expiring"
        max_age = int(r.headers["set-cookie"].lower().split("max-age=")[1].split(";")[0])
        assert 86400 - 120 < max_age <= 86400  # the cookie lives as long as the token, not 30 days


def test_token_cli_expires_and_list_shows_it(api: Api, service_env: dict[str, str]) -> None:
    from pitwall.devstack.endpoints import settings_env

    env = dict(service_env) | settings_env(api.settings)

    def pitwall(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pitwall.cli.main", "token", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    made = pitwall("create", "--role", "uploader", "--name", "station-30d", "--expires", "30d")
    assert made.returncode == 0, made.stderr
    when = datetime.now(UTC) + timedelta(days=30)
    assert "expires 20" in made.stderr and made.stdout.strip().startswith("pw_")
    with _from(api, "198.51.100.12", made.stdout.strip()) as c:
        assert require_ok(c.get("/api/v1/me"))["role"] == "uploader"
    listed = pitwall("list").stdout.splitlines()
    assert "expires" in listed[0]
    row = next(line for line in listed if line.endswith("station-30d"))
    at = listed[0].index("expires")  # fixed-width columns
    shown = datetime.strptime(row[at : at + 19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs((shown - when).total_seconds()) < 120
    admin_rows = [line for line in listed if line.endswith("test-admin")]
    assert admin_rows and all("never" in line for line in admin_rows), listed
    bad = pitwall("create", "--role", "viewer", "--expires", "soon")
    assert bad.returncode == 2 and "90m, 12h, 30d or 2w" in bad.stderr


def test_security_headers_on_the_page_and_the_api(api: Api) -> None:
    common = {
        "x-content-type-options": "nosniff", "referrer-policy": "same-origin", "x-frame-options": "DENY",
    }
    with _from(api, "198.51.100.13", api.tokens["viewer"]) as c:
        c.cookies.set("pitwall_token", api.tokens["viewer"])
        for path in ("/", "/login", f"/runs/{RUN}"):
            r = c.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            csp = r.headers["content-security-policy"]
            assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
            assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert all(r.headers[k] == v for k, v in common.items())
            assert "camera=()" in r.headers["permissions-policy"]
        for path in ("/api/v1/runs", f"/api/v1/runs/{RUN}", "/api/v1/me", "/api/v1/nothing-here"):
            r = c.get(path)
            assert r.headers["cache-control"] == "no-store", path
            assert r.headers["content-security-policy"].startswith("default-src 'none'"), path
            assert all(r.headers[k] == v for k, v in common.items()), path
        r = c.get("/static/js/app.js")
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-cache"
        # The API reference is ours too: the same strict policy, nothing from a CDN.
        docs_csp = c.get("/docs").headers["content-security-policy"]
        assert "script-src 'self'" in docs_csp and "unsafe-inline" not in docs_csp and "cdn" not in docs_csp
        assert c.get("/redoc").status_code == 404  # not linked anywhere: one reference, offline
        assert c.get("/readyz").headers["x-frame-options"] == "DENY"


def test_presigned_links_die_after_their_ttl(api: Api) -> None:
    data = b"\x89MCAP0\r\n" + b"presign" * 100
    store = ObjectStore(api.settings)
    store.put_bytes(api.settings.bucket_mcap, mcap_key(RUN), data)
    with _from(api, "198.51.100.14", api.tokens["viewer"]) as c:
        link = require_ok(c.get(f"/api/v1/runs/{RUN}/mcap"))
    assert link["expires_in_s"] == PRESIGN_S
    made = time.monotonic()
    fresh = httpx.get(link["url"], timeout=30)
    assert fresh.status_code == 200 and fresh.content == data
    # Waiting out the link's TTL is the behaviour under test (a poll would only ask sooner and
    # burn requests); 1.5 s past it covers S3's whole-second clock.
    time.sleep(max(0.0, PRESIGN_S + 1.5 - (time.monotonic() - made)))
    stale = httpx.get(link["url"], timeout=30)
    assert stale.status_code == 403, (stale.status_code, stale.text[:300])
    assert "expired" in stale.text.lower() or "AccessDenied" in stale.text
