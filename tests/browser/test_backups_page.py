"""The admin's backups page in a real browser, fed by a real backup service."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from test_web import log_in, page, shots  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from conftest import WebStack

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def _status(pw: object, run_id: str) -> str | None:
    from pitwall.client import PitwallError

    try:
        return str(pw.run(run_id)["status"])  # type: ignore[attr-defined]
    except PitwallError:
        return None


def test_backups_page_shows_the_latest_good_backup_and_its_drill(page: Page, web_stack: WebStack,  # noqa: F811
                                                                  shots: Path, tmp_path: Path) -> None:  # noqa: F811
    from pitwall.client import Client
    from pitwall.devstack.endpoints import settings_env
    from pitwall.devstack.services import ServiceProcess
    from pitwall.devstack.waiting import wait_until
    from pitwall.synth import write_synth

    # A viewer is not shown the admin page, and the API refuses it.
    page.goto("/")
    log_in(page, web_stack.tokens["viewer"])
    expect(page.locator("table.runs")).to_be_visible()
    expect(page.locator("[data-nav=backups]")).to_be_hidden()
    page.context.clear_cookies()

    page.goto("/admin/backups")
    log_in(page, web_stack.tokens["admin"])
    verdict = page.locator("section.bk-verdict")
    expect(verdict).to_have_attribute("data-status", "stale")
    expect(verdict).to_contain_text("No completed backup yet")
    expect(page.locator("[data-nav=backups]")).to_be_visible()

    # A run to back up, uploaded through the page's own API; then the backup service starts.
    write_synth(tmp_path / "stint.mcap", minutes=0.1, seed=5)
    with Client(web_stack.base_url, web_stack.tokens["admin"]) as pw:
        run_id = pw.upload(tmp_path / "stint.mcap")["id"]
        wait_until(lambda: _status(pw, run_id) == "ready", what="the run ingested", timeout=60)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
    env = inherited | settings_env(web_stack.settings) | {
        "PITWALL_BACKUP_PASSWORD": "web-test-key", "PITWALL_BACKUP_SCHEDULE": "0 3 * * *",
        "PITWALL_BACKUP_TARGET": f"file://{tmp_path / 'backups'}",
    }
    service = ServiceProcess("backup", env, tmp_path / "backup.log").start()
    web_stack.services.append(service)
    try:
        expect(verdict).to_have_attribute("data-status", "ok", timeout=90_000)  # the page polls
        expect(verdict).to_contain_text(re.compile(r"Backed up \d+ s ago"))
        expect(verdict).to_contain_text("Restore drill passed")
        row = page.locator("table.bk-table tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("completed")
        assert int(row.locator("td").nth(4).inner_text()) >= 1  # the run is in it
        expect(row.locator(".bk-drill-cell")).to_have_text("passed")
        assert page.locator("svg.bk-chart rect.bk-bar").count() >= 1
        page.locator("main").screenshot(path=str(shots / "backups.png"))
    finally:
        service.stop()
        web_stack.services.remove(service)
