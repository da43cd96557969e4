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
    from testsupport.services import start_service
    from testsupport.waiting import wait_for

    from pitwall.client import Client
    from pitwall.devstack.endpoints import settings_env
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
        wait_for(lambda: _status(pw, run_id) == "ready", what="the run ingested", timeout=60)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
    env = inherited | settings_env(web_stack.settings) | {
        "PITWALL_BACKUP_PASSWORD": "web-test-key", "PITWALL_BACKUP_SCHEDULE": "0 3 * * *",
        "PITWALL_BACKUP_TARGET": f"file://{tmp_path / 'backups'}",
    }
    # Not waited for: the page, polling, shows when it has worked.
    service = start_service("backup", env, tmp_path / "backup.log", wait=False, track=web_stack.services)
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


def _backup_service(web_stack: WebStack, tmp_path: Path, name: str) -> object:
    from testsupport.services import start_service

    from pitwall.devstack.endpoints import settings_env

    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
    env = inherited | settings_env(web_stack.settings) | {
        "PITWALL_BACKUP_PASSWORD": "web-test-key", "PITWALL_BACKUP_SCHEDULE": "0 3 * * *",
        "PITWALL_BACKUP_TARGET": f"file://{tmp_path / 'backups'}", "PITWALL_BACKUP_DRILL": "false",
    }
    # Not waited for: the page, polling, shows when it has worked.
    return start_service("backup", env, tmp_path / f"{name}.log", wait=False, track=web_stack.services)


def _stop(web_stack: WebStack, service: object) -> None:
    service.stop()  # type: ignore[attr-defined]
    web_stack.services.remove(service)


def test_the_page_warns_of_runs_no_backup_holds_and_backs_up_now(page: Page, web_stack: WebStack,  # noqa: F811
                                                                 shots: Path, tmp_path: Path) -> None:  # noqa: F811
    from testsupport.waiting import wait_for

    from pitwall.client import Client
    from pitwall.synth import write_synth

    page.goto("/admin/backups")
    log_in(page, web_stack.tokens["admin"])
    verdict = page.locator("section.bk-verdict")
    coverage = page.locator("section.bk-coverage")
    # A good backup of the schedule's slot first (made here, or by the test before).
    service = _backup_service(web_stack, tmp_path, "backup-1")
    try:
        expect(verdict).to_have_attribute("data-status", "ok", timeout=90_000)
    finally:
        _stop(web_stack, service)

    # A run after it, while the backup service is down: the page says no backup holds it.
    write_synth(tmp_path / "late.mcap", minutes=0.1, seed=6)
    with Client(web_stack.base_url, web_stack.tokens["admin"]) as pw:
        run_id = pw.upload(tmp_path / "late.mcap")["id"]
        wait_for(lambda: _status(pw, run_id) == "ready", what="the run ingested", timeout=60)
        # The list reads run_summaries, written just after the run: count once it is listed.
        wait_for(lambda: run_id in {r["id"] for r in pw.runs()}, what="the run listed", timeout=30)
        catalogue = len(list(pw.runs()))
    page.reload()
    expect(coverage).to_have_attribute("data-status", "warn")
    warning = coverage.locator(".bk-warning")
    expect(warning).to_have_attribute("data-count", "1")
    expect(warning).to_contain_text("1 run is in no backup")
    expect(coverage.locator(".bk-holds")).to_contain_text(f"the catalogue has {catalogue} run")
    page.locator("main").screenshot(path=str(shots / "backups-warning.png"))

    # Back up now: pending (nobody takes it yet), then made once the service is back.
    button = page.get_by_role("button", name="Back up now")
    expect(button).to_be_visible()
    button.click()
    pending = page.locator("table.bk-table tr.bk-pending-row")
    expect(pending).to_have_count(1)
    backup_id = pending.get_attribute("data-backup-id") or ""
    assert backup_id.startswith("now-")
    expect(pending).to_contain_text("pending")
    expect(page.locator(".bk-asked")).to_contain_text(f"Backup {backup_id} asked for")
    expect(page.locator("button.bk-now")).to_be_disabled()
    service = _backup_service(web_stack, tmp_path, "backup-2")
    try:
        row = page.locator(f"table.bk-table tbody tr[data-backup-id='{backup_id}']:not(.bk-pending-row)")
        expect(row).to_contain_text("completed", timeout=90_000)
        expect(pending).to_have_count(0)
        expect(page.locator(".bk-asked")).to_have_text(f"Backup {backup_id} completed.")
        expect(coverage).to_have_attribute("data-status", "ok")
        expect(coverage.locator(".bk-warning")).to_have_count(0)
        expect(coverage.locator(".bk-holds")).to_contain_text(
            f"The latest good backup ({backup_id}) holds {catalogue} run")
        expect(page.locator("button.bk-now")).to_be_enabled()
    finally:
        _stop(web_stack, service)
