"""Every page of the app in a real browser on the real stack: none asks anything of a
host outside the stack (the team's laptops at the track have no internet), the API
reference lists the API, and admins manage tokens in the page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import csp_watch
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_web import wait_for_run
from testsupport.waiting import wait_for

if TYPE_CHECKING:
    from conftest import WebStack

pytestmark = [pytest.mark.browser, pytest.mark.stack]
REPO = Path(__file__).resolve().parents[2]


def _admin(web_stack: WebStack) -> httpx.Client:
    return httpx.Client(base_url=web_stack.base_url, headers={"Authorization": f"Bearer {web_stack.tokens['admin']}"},
                        timeout=30)


@pytest.fixture(scope="module")
def run(web_stack: WebStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pitwall.synth import write_synth

    path = tmp_path_factory.mktemp("every-page") / "endurance_practice.mcap"
    write_synth(path, minutes=1.0, seed=31)
    with _admin(web_stack) as api, path.open("rb") as f:
        run_id = api.post("/api/v1/uploads", files={"file": (path.name, f)}).raise_for_status().json()["id"]
        doc: dict[str, Any] = wait_for_run(api, run_id, timeout=90)
        doc["laps"] = api.get(f"/api/v1/runs/{run_id}/laps").raise_for_status().json()["laps"]
    return doc


@pytest.fixture
def context(browser: Browser, web_stack: WebStack) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=web_stack.base_url,
                              locale="en-GB", timezone_id="UTC")
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def _log_in(page: Page, token: str) -> None:
    page.goto("/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def test_no_page_asks_anything_outside_the_stack(context: BrowserContext, web_stack: WebStack,
                                                 run: dict[str, Any]) -> None:
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    context.on("request", lambda req: requests.append(req.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_watch.watch(context, page)
    laps = ",".join(f"{run['id']}:{lap['lap']}" for lap in run["laps"][:2])
    pages = {
        "/login": "#token",
        "/": "table.runs tbody tr",
        f"/runs/{run['id']}": ".u-over, canvas",
        f"/compare?laps={laps}": "main#app h1, main#app .cmp-laps, main#app section",
        "/upload": "input[type=file]",
        "/admin/backups": "main#app h1",
        "/admin/ops": "main#app h1",
        "/admin/tokens": "table.tk-table",
        "/docs": ".opblock",
    }
    _log_in(page, web_stack.tokens["admin"])
    for path, ready in pages.items():
        before = len(requests)
        page.goto(path)
        page.wait_for_selector(ready, state="attached")
        page.wait_for_load_state("networkidle")
        asked = requests[before:]
        assert asked, f"{path}: no request recorded"
        outside = [u for u in asked
                   if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname != "127.0.0.1"]
        assert not outside, f"{path} asked hosts outside the stack: {outside}"
    # The reference lists the API's operations, from the product's own openapi.json.
    page.goto("/docs")
    page.wait_for_selector(".opblock")
    with httpx.Client(base_url=web_stack.base_url) as c:
        spec = c.get("/openapi.json").json()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete", "head")}
    shown = list(page.eval_on_selector_all(".opblock", """blocks => blocks.map(b => [
        b.querySelector(".opblock-summary-method").textContent.trim(),
        b.querySelector(".opblock-summary-path").getAttribute("data-path")])"""))
    assert {tuple(x) for x in shown} == operations
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/tokens").first).to_be_visible()
    assert not errors, errors
    assert not violations, violations


def test_admin_makes_copies_and_revokes_a_token(context: BrowserContext, web_stack: WebStack, tmp_path: Path) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_stack.base_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_watch.watch(context, page)
    _log_in(page, web_stack.tokens["admin"])
    page.click("nav [data-nav=tokens]")
    page.wait_for_url("**/admin/tokens")
    page.wait_for_selector("table.tk-table")
    # Only this page: the runs list, left while still loading, must not draw itself here.
    page.wait_for_load_state("networkidle")
    expect(page.locator("main#app h1")).to_have_text(["API tokens"])
    page.fill("#tk-name", "Mia's notebook")
    page.select_option("#tk-role", "viewer")
    page.select_option("#tk-expires", "30d")
    page.click("form.tk-create button[type=submit]")
    secret = page.locator(".tk-secret-value").inner_text(timeout=10_000).strip()
    assert secret.startswith("pw_")
    page.locator(".tk-secret button", has_text="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    row = page.locator("table.tk-table tbody tr", has_text="Mia's notebook")
    expect(row).to_have_attribute("data-state", "active", timeout=15_000)
    expect(row).to_contain_text("viewer")
    if os.environ.get("PITWALL_SCREENSHOTS", "") not in ("", "0"):
        page.screenshot(path=str(REPO / "docs" / "screenshots" / "tokens.png"))

    # The secret shown works at once (a minute later nobody can see it again).
    with httpx.Client(base_url=web_stack.base_url, headers={"Authorization": f"Bearer {secret}"}) as c:
        me = c.get("/api/v1/me").json()
    assert me["role"] == "viewer" and me["name"] == "Mia's notebook"
    page.reload()
    page.wait_for_selector("table.tk-table")
    assert secret not in page.content()

    # Revoke asks first; Cancel keeps it, Revoke refuses it from then on.
    row = page.locator("table.tk-table tbody tr", has_text="Mia's notebook")
    row.locator("button.tk-revoke").click()
    page.locator("dialog", has_text="Revoke").get_by_role("button", name="Cancel").click()
    expect(row).to_have_attribute("data-state", "active")
    row.locator("button.tk-revoke").click()
    page.locator("dialog").get_by_role("button", name="Revoke token").click()
    expect(row).to_have_attribute("data-state", "revoked", timeout=15_000)
    # Refused within seconds (the gateway caches a token's record for 2 s).
    with httpx.Client(base_url=web_stack.base_url, headers={"Authorization": f"Bearer {secret}"}) as c:
        wait_for(lambda: c.get("/api/v1/me").status_code == 401, "the revoked token to be refused", timeout=10,
                 every=0.5)
    assert not errors, errors
    assert not violations, violations


def test_a_viewer_sees_no_token_page(context: BrowserContext, web_stack: WebStack) -> None:
    page = context.new_page()
    _log_in(page, web_stack.tokens["viewer"])
    page.wait_for_selector("table.runs")
    for name in ("tokens", "backups", "ops", "upload"):
        expect(page.locator(f"nav [data-nav={name}]")).to_be_hidden()
    page.goto("/admin/tokens")
    expect(page.locator("main#app")).to_contain_text("Admins only")
    expect(page.locator("table.tk-table")).to_have_count(0)
    viewer = {"Authorization": f"Bearer {web_stack.tokens['viewer']}"}
    with httpx.Client(base_url=web_stack.base_url, headers=viewer) as c:
        assert c.get("/api/v1/tokens").status_code == 403
