"""Events on the run page, in Chromium on the real stack: the rule-made BMS fault is listed
and shaded, an editor marks a range dragged on the plot, it is listed and shaded without a
reload, the runs list finds it by its kind, and deleting it removes it.

With PITWALL_SCREENSHOTS=1 the run page with its events goes to docs/screenshots/events.png."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import csp_watch
import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from test_web import coloured_pixels, log_in, wait_for_run

if TYPE_CHECKING:
    from conftest import WebStack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

REPO = Path(__file__).resolve().parents[2]
EVENT_EDGE = (180, 83, 9)  # the band's edge line, plot.js EVENT_EDGE


@pytest.fixture(scope="module")
def runs(web_stack: WebStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pitwall.synth import write_synth

    folder = tmp_path_factory.mktemp("events-web")
    made = {"fault": write_synth(folder / "endurance_fault.mcap", minutes=0.5, seed=41, fault_at=8.0),
            "plain": write_synth(folder / "testing_plain.mcap", minutes=0.25, seed=42)}
    out: dict[str, Any] = {}
    admin = {"Authorization": f"Bearer {web_stack.tokens['admin']}"}
    with httpx.Client(base_url=web_stack.base_url, headers=admin, timeout=30) as api:
        for name, summary in made.items():
            with summary.path.open("rb") as fh:
                upload = api.post("/api/v1/uploads", files={"file": (summary.path.name, fh)})
                run_id = upload.raise_for_status().json()["id"]
            out[name] = wait_for_run(api, run_id)
    return out


@pytest.fixture
def page(browser: Browser, web_stack: WebStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-GB", timezone_id="UTC",
                                  base_url=web_stack.base_url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_watch.watch(context, page)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"Content-Security-Policy violations on the page: {violations}"


def _edge_pixels(page: Page) -> int:
    return coloured_pixels(page, ".pane:first-child canvas", EVENT_EDGE)


def test_mark_an_event_on_the_plot_list_shade_find_delete(page: Page, web_stack: WebStack,
                                                          runs: dict[str, Any]) -> None:
    run = runs["fault"]
    page.goto(f"/runs/{run['id']}")
    log_in(page, web_stack.tokens["editor"])
    rows = page.locator(".events-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("fault")
    expect(rows.first).to_contain_text("BMS_STATE_FAULT")
    expect(page.locator(".pane")).not_to_have_count(0)
    expect(page.locator(".plot-status")).to_contain_text("sample")
    before = _edge_pixels(page)
    assert before > 0  # the rule-made fault is shaded

    # Mark event, then drag across 55-70 % of the plot.
    page.click("button.mark-event")
    over = page.locator(".pane").first.locator(".u-over").bounding_box()
    assert over is not None
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.55, y)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.62, y, steps=4)
    page.mouse.move(over["x"] + over["width"] * 0.70, y, steps=4)
    page.mouse.up()
    expect(page.locator(".event-form")).to_be_visible()
    page.fill(".event-form [name=kind]", "lockup")
    page.fill(".event-form [name=note]", "T3, front left")
    page.click(".event-form button[type=submit]")

    # Listed (by start time, after the fault) and shaded, without a reload.
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("lockup")
    expect(rows.nth(1)).to_contain_text("T3, front left")
    expect(rows.nth(1)).to_contain_text("web-editor")
    viewer = {"Authorization": f"Bearer {web_stack.tokens['viewer']}"}
    with httpx.Client(base_url=web_stack.base_url, headers=viewer) as api:
        events = api.get(f"/api/v1/runs/{run['id']}/events").raise_for_status().json()["events"]
    lockup = next(e for e in events if e["kind"] == "lockup")
    duration = run["duration_s"]
    # The window dragged: 55-70 % of the whole run on the time axis (within a few pixels).
    slack = duration * 6 / over["width"]
    assert abs(lockup["start_s"] - 0.55 * duration) < slack and abs(lockup["end_s"] - 0.70 * duration) < slack
    assert _edge_pixels(page) > before

    shots = REPO / "docs" / "screenshots" if os.environ.get("PITWALL_SCREENSHOTS", "") not in ("", "0") else None
    if shots:
        page.locator(".plot-panel").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "events.png"), full_page=True, clip=_clip(page))

    # Clicking the row zooms the plot to the event.
    rows.nth(1).locator(".event-window").click()
    expect(page.locator(".win-readout")).to_have_text(re.compile(r"\d+\.\d\d – \d+\.\d\d s"))

    # The runs list finds it by the event's kind, not the other run.
    page.goto("/?event=lock")
    expect(page.locator("table.runs tbody tr[data-run-id]")).to_have_count(1)
    expect(page.locator(f"table.runs tbody tr[data-run-id='{run['id']}']")).to_have_count(1)
    page.fill("input[name=event]", "fault")
    expect(page).to_have_url(re.compile(r"event=fault"))
    expect(page.locator(f"table.runs tbody tr[data-run-id='{run['id']}']")).to_have_count(1)
    page.fill("input[name=event]", "")
    expect(page.locator(f"table.runs tbody tr[data-run-id='{runs['plain']['id']}']")).to_have_count(1)

    # Deleted by the editor: gone from the list without a reload.
    page.goto(f"/runs/{run['id']}")
    expect(rows).to_have_count(2)
    rows.nth(1).locator("button.event-delete").click()
    page.locator("dialog .btn.danger").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("fault")


def _clip(page: Page) -> dict[str, float]:
    plot = page.locator(".plot-panel").bounding_box()
    events = page.locator(".events-panel").bounding_box()
    assert plot and events
    scroll = float(page.evaluate("window.scrollY"))
    top = plot["y"]
    return {"x": plot["x"], "y": top + scroll, "width": plot["width"], "height": events["y"] + events["height"] - top}
