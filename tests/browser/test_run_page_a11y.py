"""The run page on a laptop, by keyboard, in the dark, and for assistive technology.

At 1440×900 the plot is on the first screen; lap and event rows are reached with Tab and
picked with Enter/Space (arrows between rows); no "null" anywhere; the theme follows the
system (prefers-color-scheme) unless the top bar's toggle says otherwise, and the toggle is
remembered; axe-core (vendored, tests/browser/vendor/axe-core) finds nothing serious or
critical on the runs, run and compare pages in either theme; the history says in words what
changed. With PITWALL_SCREENSHOTS=1 the run page goes to docs/screenshots/run.png and
run-dark.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import csp_watch
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_web import admin_api, ensure_run, log_in, shots  # noqa: F401  (fixtures)
from testsupport.waiting import wait_for

if TYPE_CHECKING:
    from conftest import WebStack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
Scheme = Literal["light", "dark"]


@pytest.fixture(scope="module")
def lap_run(web_stack: WebStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run of a few laps with an event on it and a history of edits by an editor."""
    from pitwall.synth import write_synth

    folder = tmp_path_factory.mktemp("a11y-synth")
    write_synth(folder / "laptop_laps.mcap", minutes=3.5, seed=51, track_seed=11)
    run = ensure_run(web_stack, folder / "laptop_laps.mcap")
    with admin_api(web_stack) as api:
        run["laps"] = api.get(f"/api/v1/runs/{run['id']}/laps").raise_for_status().json()["laps"]
    assert len(run["laps"]) >= 2, run["laps"]
    editor = admin_api(web_stack)
    editor.headers["Authorization"] = f"Bearer {web_stack.tokens['editor']}"
    with editor:
        changes: list[dict[str, Any]] = [
            {"setup": {"driver": "Adam"}},
            {"setup": {"driver": "Ben"}},
            {"tags": ["dry"]},
            {"tags": ["wet"]},
            {"notes": "understeer in T3"},
        ]
        def updated_at() -> str:
            return str(editor.get(f"/api/v1/runs/{run['id']}").raise_for_status().json()["updated_at"])

        for change in changes:
            before = updated_at()
            editor.patch(f"/api/v1/runs/{run['id']}", json=change).raise_for_status()
            _wait(lambda: updated_at() != before, "an edit")  # noqa: B023 - called before the loop moves on
        events = f"/api/v1/runs/{run['id']}/events"
        cone_event = {"kind": "cone", "start_s": 20, "end_s": 21.25}
        cone = editor.post(events, json=cone_event).raise_for_status().json()["event_id"]
        _wait(lambda: len(editor.get(events).json()["events"]) == 1, "the cone")
        editor.delete(f"{events}/{cone}").raise_for_status()
        _wait(lambda: editor.get(events).json()["events"] == [], "the cone's removal")
        editor.post(events, json={"kind": "lockup T3", "start_s": 12.4, "end_s": 13.1}).raise_for_status()
        _wait(lambda: len(editor.get(events).json()["events"]) == 1, "the lockup")
        run["events"] = editor.get(f"/api/v1/runs/{run['id']}/events").raise_for_status().json()["events"]
    return run


def _wait(done: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    wait_for(done, f"{what} to show", timeout=timeout, every=0.2)


@pytest.fixture
def context_for(browser: Browser, web_stack: WebStack) -> Iterator[Any]:
    """New laptop-sized browser contexts with the system theme `scheme`; each checked for
    JavaScript errors and CSP violations when the test ends."""
    made: list[tuple[BrowserContext, list[str], list[str]]] = []

    def make(scheme: Scheme = "light", *, axe: bool = False) -> Page:
        # axe-core goes in as an inline script, which the page's CSP rightly refuses: the
        # contexts that run it bypass the CSP (the other tests check it holds).
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB", timezone_id="UTC",
                                      color_scheme=scheme, base_url=web_stack.base_url, bypass_csp=axe)
        context.set_default_timeout(20_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        made.append((context, errors, csp_watch.watch(context, page)))
        return page

    yield make
    for context, errors, violations in made:
        context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"
        assert not violations, f"Content-Security-Policy violations on the page: {violations}"


def open_run(page: Page, web_stack: WebStack, run_id: str, role: str | None = "viewer") -> None:
    """The run page, drawn; logging in first with `role`'s token unless None (logged in already)."""
    page.goto(f"/runs/{run_id}")
    if role:
        log_in(page, web_stack.tokens[role])
    expect(page.locator(".plot-status")).to_have_text(re.compile("sample"), timeout=20_000)
    expect(page.locator(".event-row")).not_to_have_count(0)


def background(page: Page, selector: str = "body") -> tuple[float, ...]:
    rgb = page.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor")
    return tuple(float(x) for x in re.findall(r"[\d.]+", rgb)[:3])


def is_dark(rgb: tuple[float, ...]) -> bool:
    return max(rgb) < 80


def serious_violations(page: Page) -> list[str]:
    """axe-core's findings of impact serious or critical, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        const node = (n) => n.target.join(" ") + " " + (n.failureSummary || "").replace(/\\s+/g, " ");
        return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 4).map(node).join(" | ")}`);
    }""")
    return list(found)


def test_the_plot_is_on_the_first_screen_and_nothing_says_null(context_for: Any, web_stack: WebStack,
                                                               lap_run: dict[str, Any]) -> None:
    page = context_for("light")
    open_run(page, web_stack, lap_run["id"])
    plot = page.locator(".plot-panel").bounding_box()
    track = page.locator(".track-panel").bounding_box()
    assert plot is not None and track is not None
    assert 0 <= plot["y"] < 900 - 200, f"the plot starts at {plot['y']:.0f} px, below a 900 px screen's first 700 px"
    # The map is beside or below the plot, never above it.
    assert track["y"] >= plot["y"] - 1, (plot, track)
    assert page.evaluate("() => window.scrollY") == 0
    text = page.locator("body").inner_text()
    assert not re.search(r"\bnull\b|\bundefined\b|NaN", text), re.findall(
        r".{0,40}\b(?:null|undefined|NaN)\b.{0,40}", text)
    # With nothing selected the signals header said "… signals null" (Element.append(null)).
    checked = page.locator(".signal-tree input[type=checkbox]:checked")
    while checked.count():
        checked.first.uncheck()
    summary = page.locator(".tree-panel").inner_text()
    assert "signals" in summary and not re.search(r"\bnull\b", summary), summary
    # A viewer sees no links to pages they cannot use.
    for nav in ("upload", "backups", "ops"):
        expect(page.locator(f"[data-nav={nav}]")).to_be_hidden()
    expect(page.locator("[data-nav=runs]")).to_be_visible()


def test_an_editor_sees_upload_but_not_the_admin_pages(context_for: Any, web_stack: WebStack,
                                                       lap_run: dict[str, Any]) -> None:
    page = context_for("light")
    open_run(page, web_stack, lap_run["id"], role="editor")
    expect(page.locator("[data-nav=backups]")).to_be_hidden()
    expect(page.locator("[data-nav=ops]")).to_be_hidden()
    # An editor cannot upload (the uploader role can): the link stays hidden too.
    expect(page.locator("[data-nav=upload]")).to_be_hidden()


def tab_until(page: Page, selector: str, presses: int = 250) -> None:
    """Press Tab until the focused element matches `selector` (it must be reachable)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def shown_window(page: Page) -> tuple[float, float]:
    text = page.locator(".win-readout").inner_text()
    a, b = (float(x) for x in re.findall(r"\d+\.\d+", text))
    return a, b


def test_laps_and_events_by_keyboard(context_for: Any, web_stack: WebStack, lap_run: dict[str, Any]) -> None:
    page = context_for("light")
    open_run(page, web_stack, lap_run["id"])
    laps = lap_run["laps"]
    page.locator(".plot-panel button").first.focus()
    tab_until(page, ".lap-row")
    first = page.locator(".lap-row").first
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    expect(first).to_have_class(re.compile(r"\bpicked\b"))
    expect(page.locator(".win-readout")).not_to_have_text("")
    assert shown_window(page) == pytest.approx((laps[0]["start_s"], laps[0]["end_s"]), abs=0.006)
    # Down to the next lap, Space picks it.
    page.keyboard.press("ArrowDown")
    second = page.locator(".lap-row").nth(1)
    expect(second).to_be_focused()
    scrolled = page.evaluate("() => window.scrollY")
    page.keyboard.press(" ")
    expect(second).to_have_class(re.compile(r"\bpicked\b"))
    expect(first).not_to_have_class(re.compile(r"\bpicked\b"))
    assert shown_window(page) == pytest.approx((laps[1]["start_s"], laps[1]["end_s"]), abs=0.006)
    # Space on a row picks it and does not scroll the page; Up goes back.
    assert page.evaluate("() => window.scrollY") == scrolled
    page.keyboard.press("ArrowUp")
    expect(first).to_be_focused()
    # The event rows, further down: Enter zooms the plot to the event.
    tab_until(page, ".event-row")
    event = lap_run["events"][0]
    page.keyboard.press("Enter")
    a, b = shown_window(page)
    assert a < event["start_s"] < event["end_s"] < b and b - a < 5, (a, b, event)


def test_the_history_says_what_changed(context_for: Any, web_stack: WebStack, lap_run: dict[str, Any]) -> None:
    page = context_for("light")
    open_run(page, web_stack, lap_run["id"])
    items = page.locator(".activity li")
    expect(items.first).to_be_visible()
    lines = [re.sub(r"\s+", " ", t) for t in items.all_inner_texts()]
    text = "\n".join(lines)
    assert "event 'lockup T3' added, 12.4–13.1 s" in text, text
    assert "setup.driver: Adam → Ben" in text, text
    assert re.search(r"setup\.driver: .+ → Adam", text), text
    assert "tags: +wet −dry" in text, text
    assert "tags: +dry" in text, text
    assert "notes changed" in text, text
    assert "event 'cone' removed, 20–21.25 s" in text, text
    assert all("web-editor" in line for line in lines if "→" in line or "tags:" in line), lines


def test_dark_theme_follows_the_system_and_the_toggle_is_remembered(
    context_for: Any, web_stack: WebStack, lap_run: dict[str, Any], shots: Path  # noqa: F811
) -> None:
    light = context_for("light")
    open_run(light, web_stack, lap_run["id"])
    assert not is_dark(background(light)), background(light)
    light.screenshot(path=str(shots / "run.png"))

    page = context_for("dark")
    open_run(page, web_stack, lap_run["id"])
    assert is_dark(background(page)), background(page)
    assert is_dark(background(page, ".plot-panel")), background(page, ".plot-panel")
    # The plot's canvas draws its axis labels in the theme's (light) text colour.
    label = page.evaluate("() => getComputedStyle(document.documentElement).getPropertyValue('--muted').trim()")
    assert label and not is_dark(tuple(float(int(label[i:i + 2], 16)) for i in (1, 3, 5))), label
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "run-dark.png"))
    toggle = page.locator(".theme-toggle")
    expect(toggle.locator("button[data-value=system]")).to_have_attribute("aria-checked", "true")

    # Light on a dark system: the choice wins, and outlives a reload.
    toggle.locator("button[data-value=light]").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert not is_dark(background(page)), background(page)
    page.reload()
    expect(page.locator(".plot-status")).to_have_text(re.compile("sample"))
    assert not is_dark(background(page)), background(page)
    expect(page.locator(".theme-toggle button[data-value=light]")).to_have_attribute("aria-checked", "true")
    # Dark on a light system, the same way.
    light.locator(".theme-toggle button[data-value=dark]").click()
    assert is_dark(background(light)), background(light)
    light.reload()
    expect(light.locator(".plot-status")).to_have_text(re.compile("sample"))
    assert is_dark(background(light)), background(light)
    # Back to the system's setting.
    page.locator(".theme-toggle button[data-value=system]").click()
    assert is_dark(background(page)), background(page)
    assert page.evaluate("() => localStorage.getItem('pitwall.theme')") == "system"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(context_for: Any, web_stack: WebStack, lap_run: dict[str, Any],
                                             scheme: Scheme) -> None:
    page = context_for(scheme, axe=True)
    page.goto("/")
    log_in(page, web_stack.tokens["editor"])
    expect(page.locator("table.runs[aria-busy=false]")).to_have_count(1)
    found = {"runs": serious_violations(page)}
    open_run(page, web_stack, lap_run["id"], role=None)
    found["run"] = serious_violations(page)
    laps = sorted(lap_run["laps"], key=lambda lap: lap["time_s"])[:2]
    run_id = lap_run["id"]
    page.goto("/compare?laps=" + ",".join(f"{run_id}:{lap['lap']}" for lap in laps))
    expect(page.locator(".cmp-grid[aria-busy=false]")).to_have_count(1)
    found["compare"] = serious_violations(page)
    assert not any(found.values()), "\n".join(f"{name}: {v}" for name, vs in found.items() for v in vs)
