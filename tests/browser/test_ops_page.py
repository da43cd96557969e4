"""The admin's operations page in a real browser: a message really dead-letters in ingest,
the page shows it with its reason, Retry sends it back and it is handled."""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from test_web import log_in, page, shots  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from conftest import WebStack

    from pitwall.common.events import Event

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def _publish(stack: WebStack, event: Event) -> None:
    from pitwall.common.broker import Publisher, connect

    async def send() -> None:
        conn = await connect(stack.settings, name="test-ops")
        try:
            await (await Publisher.open(conn, stack.settings)).publish(event)
        finally:
            await conn.close()

    # In a thread of its own: Playwright's sync API runs an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


def _run(pw: Any, run_id: str) -> dict[str, Any] | None:
    from pitwall.client import PitwallError

    try:
        return dict(pw.run(run_id))
    except PitwallError:
        return None


def test_a_dead_letter_is_shown_with_its_reason_and_retry_sends_it_back(
    page: Page, web_stack: WebStack, shots: Path, tmp_path: Path,  # noqa: F811
) -> None:
    from testsupport.waiting import wait_for

    from pitwall.client import Client, PitwallError
    from pitwall.common.events import ConversionRequested, RunCommand
    from pitwall.query_api import jobids
    from pitwall.synth import write_synth

    base, tokens = web_stack.base_url, web_stack.tokens
    # Admins only, in the API and in the nav.
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert httpx.get(f"{base}/api/v1/ops", headers=viewer).status_code == 403
    assert httpx.get(f"{base}/metrics", headers=viewer).status_code == 403
    page.goto("/")
    log_in(page, tokens["viewer"])
    expect(page.locator("table.runs")).to_be_visible()
    expect(page.locator("[data-nav=ops]")).to_be_hidden()
    page.context.clear_cookies()

    # A failed export, for the page's "failed exports".
    write_synth(tmp_path / "ready.mcap", minutes=0.1, seed=41)
    with Client(base, tokens["admin"]) as pw:
        ready = pw.upload(tmp_path / "ready.mcap")["id"]
        wait_for(lambda: (_run(pw, ready) or {}).get("status") == "ready", what="the run ingested", timeout=60)
        # The API refuses a glob that matches nothing; a request made by hand on the bus
        # reaches the converter, which fails it with the same words.
        with pytest.raises(PitwallError, match="matches no signal of this run"):
            pw.export(ready, ["NoSuchTopic:nothing"], dest=tmp_path, progress=False, timeout=60)
    _publish(web_stack, ConversionRequested(
        job_id=jobids.new_job_id(), runs=[ready], signals=["NoSuchTopic:nothing"], filenames={ready: "ready.mcap"},
    ))

    # An edit of a run that does not exist yet: ingest gives up on it (PermanentError),
    # the message goes to ingest's dead-letter queue with the reason.
    write_synth(tmp_path / "late.mcap", minutes=0.1, seed=42)
    late = hashlib.sha256((tmp_path / "late.mcap").read_bytes()).hexdigest()
    command = RunCommand(run_id=late, action="update", changes={"tags": ["wet"]}, actor="ops-test")
    _publish(web_stack, command)

    page.goto("/admin/ops")
    log_in(page, tokens["admin"])
    expect(page.locator("[data-nav=ops]")).to_be_visible()
    row = page.locator(f"table.ops-letters tr[data-letter-id='{command.event_id}']")
    expect(row).to_be_visible(timeout=30_000)  # the page polls
    expect(row).to_contain_text("run.command")
    expect(row).to_contain_text(f"PermanentError: no run {late}")
    for name in ("query_api", "ingest", "converter"):
        expect(page.locator(f".ops-service[data-service={name}]")).to_have_attribute("data-status", "up")
    # No backup service runs in this stack: the page says nobody consumes its queue.
    expect(page.locator(".ops-service[data-service=backup]")).to_have_attribute("data-status", "down")
    dead = page.locator("table.ops-queues tr[data-service=ingest] .ops-dead")
    expect(dead).to_have_text("1")
    failed = page.locator("table.ops-jobs tbody tr")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("matches no signal")
    page.screenshot(path=str(shots / "ops.png"), full_page=True)

    # The run arrives; Retry sends the edit back to ingest, which now applies it.
    with Client(base, tokens["admin"]) as pw:
        assert pw.upload(tmp_path / "late.mcap")["id"] == late
        wait_for(lambda: (_run(pw, late) or {}).get("status") == "ready", what="the late run ingested", timeout=60)
        row.locator("button.ops-retry").click()
        expect(page.locator(".toast.ok")).to_contain_text("Sent run.command back to ingest")
        expect(row).to_have_count(0)
        wait_for(lambda: (_run(pw, late) or {}).get("tags") == ["wet"], what="the retried edit applied", timeout=30)
    expect(dead).to_have_text("0", timeout=15_000)

    # Sent back once: a second retry of the same id finds nothing to send.
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    again = httpx.post(f"{base}/api/v1/ops/dead-letters/ingest/{command.event_id}/retry", headers=admin)
    assert again.status_code == 404, again.text
    assert httpx.post(f"{base}/api/v1/ops/dead-letters/nosuch/x/retry", headers=admin).status_code == 404
    overview = httpx.get(f"{base}/api/v1/ops", headers=admin).json()
    assert overview["dead_letter_counts"]["ingest"] == 0
    text = httpx.get(f"{base}/metrics", headers=admin).text
    assert ('pitwall_http_request_seconds_count{method="GET",route="/api/v1/ops",service="query_api",status="200"}'
            in text)
