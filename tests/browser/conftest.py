"""Browser tests: Debian's Chromium driven by Playwright, against the real stack.

Never downloads a browser: /usr/bin/chromium (scripts/ensure-chromium.sh installs it;
`make test` runs that first). Without it the tests skip, except in CI (CI=true), where
a missing browser is a failure rather than a silently skipped page.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from pitwall.common.settings import Settings
    from pitwall.devstack.endpoints import Endpoints
    from pitwall.devstack.services import ServiceProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ROLES = ("viewer", "editor", "admin")
_STACK = pytest.StashKey["WebStack"]()


@dataclass
class WebStack:
    """ingest + converter + query_api on their own vhost and database."""

    base_url: str
    settings: Settings
    tokens: dict[str, str]
    services: list[ServiceProcess] = field(default_factory=list)


async def _make_tokens(settings: Settings) -> dict[str, str]:
    from pitwall.common import db
    from pitwall.common import tokenstore as tokens
    from pitwall.common.contracts import mongo

    client = db.make_client(settings)
    try:
        collection = db.database(client, settings)[mongo.TOKENS]
        made = {}
        for role in ROLES:
            _info, secret = await tokens.create(collection, role, f"web-{role}")
            made[role] = secret
        return made
    finally:
        await client.close()


@pytest.fixture(scope="module")
def web_stack(
    request: pytest.FixtureRequest,
    settings: Settings,
    service_env: dict[str, str],
    endpoints: Endpoints,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebStack]:
    from pymongo import MongoClient
    from testsupport.services import start_service, wait_until_ready

    from pitwall.devstack.endpoints import settings_env
    from pitwall.devstack.ports import free_port, release

    # Its own vhost and database: queues left by other tests must not feed this ingest.
    vhost = settings.amqp_url.rsplit("/", 1)[-1] + "-web"
    endpoints.rabbit_admin.add_vhost(vhost, endpoints.amqp_user)
    s = settings.model_copy(update={"mongo_db": f"{settings.mongo_db}_web", "amqp_url": endpoints.amqp_url_for(vhost)})
    logs = tmp_path_factory.mktemp("web-stack")
    port = free_port()
    env = dict(service_env) | settings_env(s)
    # In a thread of its own: Playwright's sync API may already run an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        made = pool.submit(asyncio.run, _make_tokens(s)).result()
    stack = WebStack(f"http://127.0.0.1:{port}", s, made)
    request.node.stash[_STACK] = stack
    try:
        # All three started before any is waited for: they get ready side by side.
        for name in ("ingest", "converter"):
            start_service(name, env, logs / f"{name}.log", wait=False, track=stack.services)
        start_service("query_api", env | {"PITWALL_HTTP_PORT": str(port)}, logs / "query_api.log", http_port=port,
                      wait=False, track=stack.services)
        for service in stack.services:
            wait_until_ready(service)
        yield stack
    finally:
        for service in stack.services:
            service.stop()
        release(port)
        mongo: MongoClient[dict[str, Any]] = MongoClient(s.mongo_url)
        mongo.drop_database(s.mongo_db)
        mongo.close()
        endpoints.rabbit_admin.delete_vhost(vhost)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}: run scripts/ensure-chromium.sh"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed browser test shows the end of each service's log."""
    report = yield
    if report.when == "call" and report.failed:
        module = item.getparent(pytest.Module)
        stack = module.stash.get(_STACK, None) if module is not None else None
        for service in stack.services if stack else []:
            tail = "\n".join(service.log().splitlines()[-60:])
            report.sections.append((f"pitwall service {service.name}", tail))
    return report
