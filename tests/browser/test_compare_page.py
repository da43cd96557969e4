"""The compare page in a real browser on the real stack: from a run's laps table to the
best lap against another, the delta trace and the loss map drawn, the gap right, and the
address alone bringing the same view back in a new page.

Screenshots: docs/screenshots/compare.png and compare-time.png with PITWALL_SCREENSHOTS=1.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page, expect
from test_web import admin_api, ensure_run, log_in, page, shots  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from conftest import WebStack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

DELTA_RED = (229, 72, 77)  # the second lap's colour (comparestate.js LAP_COLOURS[1]): its delta line
THIRD_GREEN = (22, 163, 74)  # LAP_COLOURS[2]: the third lap's delta line
REF_BLUE = (37, 99, 235)  # the reference lap's colour: its dot on the map at the cursor

# Pixels of a canvas: strongly red ("lost" on the map's scale), strongly blue ("gained"), near `rgb`.
_COUNT = """([c, rgb]) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let red = 0, blue = 0, near = 0;
    for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] < 200) continue;
        const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
        if (r - b > 70 && r - g > 50) red++;
        if (b - r > 70) blue++;
        if (Math.abs(r - rgb[0]) < 30 && Math.abs(g - rgb[1]) < 30 && Math.abs(b - rgb[2]) < 30) near++;
    }
    return {red, blue, near};
}"""


def pixels(pg: Page, selector: str, rgb: tuple[int, int, int] = DELTA_RED) -> dict[str, int]:
    return dict(pg.evaluate(_COUNT, [pg.locator(selector).element_handle(), list(rgb)]))


def _ingest(web_stack: WebStack, path: Path) -> dict[str, Any]:
    run = ensure_run(web_stack, path)
    with admin_api(web_stack) as api:
        run["laps"] = api.get(f"/api/v1/runs/{run['id']}/laps").raise_for_status().json()["laps"]
    assert len(run["laps"]) >= 2, run["laps"]
    return run


@pytest.fixture(scope="module")
def lapped_runs(web_stack: WebStack, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two synth runs on one circuit: 4 minutes (a standing-start lap, then flying laps) and
    3 minutes of a driver using 92 % of the grip (slower, and not everywhere by as much)."""
    from pitwall.synth import write_synth

    folder = tmp_path_factory.mktemp("compare-synth")
    write_synth(folder / "compare_laps.mcap", minutes=4, seed=31, track_seed=11)
    write_synth(folder / "compare_second_driver.mcap", minutes=3, seed=32, track_seed=11, pace=0.92)
    return _ingest(web_stack, folder / "compare_laps.mcap"), _ingest(web_stack, folder / "compare_second_driver.mcap")


def gap(seconds: float) -> str:
    """The gap as the laps table writes it."""
    return f"{'+' if seconds > 0 else '−' if seconds < 0 else '±'}{abs(seconds):.3f} s"


def view_of(pg: Page) -> dict[str, Any]:
    """What the page shows: laps (run, lap) in order, the plotted signals, the x mode, the reference."""
    rows = pg.locator("tr.cmp-lap")
    return {
        "laps": [(r.get_attribute("data-run"), r.get_attribute("data-lap")) for r in rows.all()],
        "signals": [p.get_attribute("data-key") for p in pg.locator(".compare-panes .pane:not(.delta-pane)").all()],
        "x": pg.locator(".run-head .segmented button.on").get_attribute("data-value"),
        "ref": pg.locator("tr.cmp-lap.ref").get_attribute("data-index"),
    }


def wait_drawn(pg: Page) -> None:
    expect(pg.locator(".cmp-grid[aria-busy=false]")).to_have_count(1)
    expect(pg.locator(".cmp-plot-panel .plot-status")).to_have_text(re.compile(r"\d+ points"))


def test_best_against_another_lap_then_the_link_restores_the_view(
    page: Page, browser: Browser, web_stack: WebStack, lapped_runs: tuple[dict[str, Any], dict[str, Any]], shots: Path,  # noqa: F811
) -> None:
    run, second = lapped_runs
    run_id, laps = run["id"], run["laps"]
    best = min(laps, key=lambda lap: lap["time_s"])
    other = max(laps, key=lambda lap: lap["time_s"])  # the slowest: where it loses shows on the map
    assert other["time_s"] - best["time_s"] > 0.05, laps

    # --- from the run page: tick the two laps, compare ---------------------------------
    page.goto(f"/runs/{run_id}")
    log_in(page, web_stack.tokens["viewer"])
    compare = page.locator(".laps-compare .compare-selected")
    expect(compare).to_have_attribute("aria-disabled", "true")
    page.locator(f".lap-row[data-lap='{other['lap']}'] input[type=checkbox]").check()
    page.locator(f".lap-row[data-lap='{best['lap']}'] input[type=checkbox]").check()
    expect(compare).to_have_text("Compare selected (2)")
    # "vs best" on the other lap's row is the same comparison in one click.
    vs_best = page.locator(f".lap-row[data-lap='{other['lap']}'] a.vs-best").get_attribute("href")
    assert vs_best == compare.get_attribute("href")
    compare.click()
    expect(page).to_have_url(re.compile(r"/compare\?"))
    query = parse_qs(urlparse(page.url).query)
    assert query["laps"] == [f"{run_id}:{best['lap']},{run_id}:{other['lap']}"]  # the best is the reference
    wait_drawn(page)

    # The laps table: the gap is the laps' time difference.
    rows = page.locator("tr.cmp-lap")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".cmp-gap")).to_have_text("reference")
    expect(rows.nth(1).locator(".cmp-gap")).to_have_text(gap(other["time_s"] - best["time_s"]))
    expect(rows.nth(1).locator(".cmp-source")).to_contain_text("GPS")
    # The delta trace: one series (the other lap) drawn in its colour; the map coloured where time is lost.
    assert pixels(page, ".delta-pane canvas")["near"] > 150, "no delta line"
    loss = pixels(page, ".loss-canvas")
    assert loss["red"] > 200, f"the map shows no time lost: {loss}"
    # Hovering the delta trace puts the laps on the map (the cursor dot in the lap colours).
    before = pixels(page, ".loss-canvas", REF_BLUE)["near"]
    box = page.locator(".delta-pane .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.5)
    expect(page.locator(".cmp-plot-panel .t-readout")).to_have_text(re.compile(r"d = \d+ m"))
    expect(page.locator(".delta-pane .cmp-value")).to_have_text(re.compile(r"[+−±]\d+\.\d{3} s"))
    assert pixels(page, ".loss-canvas", REF_BLUE)["near"] > before + 30, "no cursor on the map"

    # --- against lap time, then the link in a new page ---------------------------------
    page.click(".run-head .segmented button[data-value=time]")
    expect(page).to_have_url(re.compile(r"[?&]x=time"))
    wait_drawn(page)
    expect(page.locator(".cmp-plot-panel .plot-status")).to_contain_text("by lap time")
    # One more signal from the tree: the link carries it too.
    page.fill(".tree-search", "vn_vel.y")
    page.locator('.tree-list input[type=checkbox][value="VNData:vn_vel.y"]').check()
    expect(page).to_have_url(re.compile(r"vn_vel\.y"))
    wait_drawn(page)
    shown = view_of(page)
    assert shown["x"] == "time" and "VNData:vn_vel.y" in shown["signals"] and len(shown["laps"]) == 2
    assert shown["signals"] == parse_qs(urlparse(page.url).query)["signals"][0].split(",")

    link = page.url
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=web_stack.base_url)
    try:
        fresh = context.new_page()
        fresh.goto(link)
        log_in(fresh, web_stack.tokens["viewer"])  # the login page sends it back to the link
        expect(fresh).to_have_url(link)
        wait_drawn(fresh)
        assert view_of(fresh) == shown
        expect(fresh.locator("tr.cmp-lap").nth(1).locator(".cmp-gap")).to_have_text(
            gap(other["time_s"] - best["time_s"]))
    finally:
        context.close()

    # Back steps through the changes: before the signal, then by distance again.
    page.go_back()
    wait_drawn(page)
    assert "VNData:vn_vel.y" not in view_of(page)["signals"]
    page.go_back()
    wait_drawn(page)
    assert view_of(page)["x"] == "distance"

    # --- a lap of the other run from the picker: the reference stays, the table grows --------
    theirs = min(second["laps"], key=lambda lap: lap["time_s"])
    page.click(".cmp-picker summary")
    page.locator(f".cmp-run[data-run-id='{second['id']}']").click()
    page.locator(f".cmp-add-lap[data-lap='{theirs['lap']}']").click()
    expect(rows).to_have_count(3)
    wait_drawn(page)
    expect(rows.nth(2)).to_have_attribute("data-run", second["id"])
    expect(rows.nth(2).locator(".cmp-gap")).to_have_text(gap(theirs["time_s"] - best["time_s"]))
    assert pixels(page, ".delta-pane canvas", THIRD_GREEN)["near"] > 150, "no delta line of the other run's lap"
    # Without the standing-start lap the map is of the other driver's lap: lost in places, on the whole.
    rows.nth(1).locator("button[aria-label^='remove']").click()
    expect(rows).to_have_count(2)
    wait_drawn(page)
    assert [r.get_attribute("data-run") for r in rows.all()] == [run_id, second["id"]]
    loss = pixels(page, ".loss-canvas")
    assert loss["red"] > 200, f"the map shows no time lost to the other driver: {loss}"
    page.fill(".tree-search", "")
    expect(page.locator(".tree-summary")).not_to_contain_text("matching")
    page.locator(".tree-search").blur()
    page.set_viewport_size({"width": 1440, "height": 1180})
    box = page.locator(".delta-pane .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.42, box["y"] + box["height"] * 0.5)
    page.screenshot(path=str(shots / "compare.png"))
    page.click(".run-head .segmented button[data-value=time]")
    wait_drawn(page)
    page.mouse.move(box["x"] + box["width"] * 0.42, box["y"] + box["height"] * 0.5)
    page.screenshot(path=str(shots / "compare-time.png"))
