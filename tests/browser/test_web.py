"""The web page in a real browser on the real stack: log in, upload, find, look, export.

Screenshots of the main pages are taken on the way; with PITWALL_SCREENSHOTS=1 they are
written to docs/screenshots/ (the README shows them), otherwise to the test's tmp dir.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import csp_watch
import httpx
import numpy as np
import pytest
import scipy.io
from playwright.sync_api import Browser, Page, expect
from testsupport.waiting import wait_for

if TYPE_CHECKING:
    from conftest import WebStack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

REPO = Path(__file__).resolve().parents[2]
SIGNALS = ["VNData:vn_vel.x", "MCUOutputData:torque_setpoint_nm.FL", "ACU_data:pack_voltage"]
SERIES_BLUE = (37, 99, 235)  # the first plot colour, #2563eb


@pytest.fixture(scope="module")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from pitwall.synth import write_synth

    folder = tmp_path_factory.mktemp("web-synth")
    files = []
    for name, seed in (("autocross_a.mcap", 24), ("testing_b.mcap", 23)):
        write_synth(folder / name, minutes=0.5, seed=seed)
        files.append(folder / name)
    return files


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("PITWALL_SCREENSHOTS", "") not in ("", "0"):
        folder = REPO / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser: Browser, web_stack: WebStack) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="en-GB", timezone_id="UTC", accept_downloads=True,
        base_url=web_stack.base_url,
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_watch.watch(context, page)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"Content-Security-Policy violations on the page: {violations}"


def log_in(page: Page, token: str) -> None:
    page.fill("#token", token)
    page.click("button[type=submit]")


def coloured_pixels(page: Page, selector: str, rgb: tuple[int, int, int] | None = None) -> int:
    """Pixels of a canvas that are drawn (or, with rgb, close to that colour)."""
    return int(page.eval_on_selector(
        selector,
        """(c, rgb) => {
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] < 200) continue;
                if (!rgb) { if (Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]) > 60) n++; }
                else if (Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i+1] - rgb[1]) < 40
                         && Math.abs(d[i+2] - rgb[2]) < 40) n++;
            }
            return n;
        }""",
        list(rgb) if rgb else None,
    ))


def _finished(api: httpx.Client, status_url: str) -> dict[str, Any] | None:
    """An export's status once it is done or failed, else None."""
    st: dict[str, Any] = api.get(status_url).json()
    return st if st["status"] in ("done", "failed") else None


def wait_for_run(api: httpx.Client, run_id: str, timeout: float = 90.0) -> dict[str, Any]:
    def ingested() -> dict[str, Any] | None:
        r = api.get(f"/api/v1/runs/{run_id}")
        return dict(r.json()) if r.status_code == 200 else None

    return wait_for(ingested, f"run {run_id} to be ingested", timeout=timeout, every=0.3)


def test_a_wrong_token_is_refused_and_pages_need_a_login(page: Page, web_stack: WebStack) -> None:
    page.goto("/upload")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fupload$"))
    log_in(page, "pw_not-a-real-token")
    expect(page.locator("#error")).to_have_text(re.compile("not valid"))
    # The API refuses the page's requests without the cookie, too.
    assert httpx.get(f"{web_stack.base_url}/api/v1/runs").status_code == 401
    log_in(page, web_stack.tokens["viewer"])
    expect(page).to_have_url(re.compile(r"/upload$"))
    expect(page.locator(".banner")).to_contain_text("cannot upload")  # a viewer's token


def test_upload_find_look_export(page: Page, web_stack: WebStack, synth_files: list[Path], shots: Path,
                                 tmp_path: Path) -> None:
    page.goto("/")
    log_in(page, web_stack.tokens["admin"])
    expect(page.locator("h1")).to_have_text("Runs")
    expect(page.locator(".list-footer")).to_contain_text("No runs yet")

    # --- upload both files by the file picker (what a drop does too) ------------------
    page.click("a[data-nav=upload]")
    page.set_input_files("input[type=file][name=file]", [str(p) for p in synth_files])
    items = page.locator(".upload-item")
    expect(items).to_have_count(2)
    expect(page.locator(".upload-item.done")).to_have_count(2, timeout=90_000)
    for item in items.all():
        expect(item.locator(".bar-fill")).to_have_attribute("style", re.compile(r"width: 100%"))
        expect(item.locator("a", has_text="Open run")).to_be_visible()
    page.screenshot(path=str(shots / "upload.png"))
    # The same content again: recognised, no second run.
    page.set_input_files("input[type=file][name=file]", str(synth_files[0]))
    expect(page.locator(".upload-item.duplicate")).to_have_count(1)
    expect(page.locator(".upload-item.duplicate .up-state")).to_have_text("already uploaded")
    run_id = page.locator(".upload-item.duplicate").get_attribute("data-run-id")
    assert run_id and re.fullmatch(r"[0-9a-f]{64}", run_id)
    # Dropped onto the page: a file that is not MCAP is refused at once, and the page says why.
    page.evaluate("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["this is not an MCAP file\\n".repeat(50)], "notes.mcap"));
        const zone = document.querySelector(".dropzone");
        for (const type of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
        }
    }""")
    refused = page.locator(".upload-item", has_text="notes.mcap")
    expect(refused.locator(".up-state")).to_have_text("failed")
    expect(refused.locator(".up-link .error")).to_contain_text("not an MCAP file")

    # --- the list, then find the run by filters kept in the URL ---------------------------
    page.click("a[data-nav=runs]")
    rows = page.locator("table.runs tbody tr[data-run-id]")
    loaded = page.locator("table.runs[aria-busy=false]")
    expect(loaded).to_have_count(1)
    expect(rows).to_have_count(2)
    page.screenshot(path=str(shots / "runs.png"))
    # One run per page: "Load more" follows the cursor to the end, each run once.
    page.goto("/?limit=1")
    expect(loaded).to_have_count(1)
    expect(rows).to_have_count(1)
    page.click(".list-footer button:has-text('Load more')")
    expect(page.locator(".list-footer")).to_contain_text("2 runs, that is all")
    assert len({r.get_attribute("data-run-id") for r in rows.all()}) == 2
    page.goto("/")
    admin = {"Authorization": f"Bearer {web_stack.tokens['admin']}"}
    with httpx.Client(base_url=web_stack.base_url, headers=admin) as api:
        run = api.get(f"/api/v1/runs/{run_id}").raise_for_status().json()
        stats = api.get(f"/api/v1/runs/{run_id}/signals").raise_for_status().json()
    driver = run["setup"]["driver"]
    top = next(s for t in stats["topics"] for s in t["signals"] if s["key"] == SIGNALS[0])["max"]
    page.select_option("select[name=driver]", driver)
    page.click("details.advanced summary")
    page.fill("input[name=where]", f"VNData:vn_vel.x.max >= {top}")
    page.press("input[name=where]", "Enter")
    expect(loaded).to_have_count(1)
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-id", run_id)
    page.screenshot(path=str(shots / "runs-filtered.png"))
    query = parse_qs(urlparse(page.url).query)
    assert query["driver"] == [driver] and query["where"] == [f"VNData:vn_vel.x.max>={top}"]
    # A predicate no run meets: nothing listed, and the page says so.
    page.fill("input[name=where]", f"VNData:vn_vel.x.max > {top + 1}")
    page.press("input[name=where]", "Enter")
    expect(page.locator(".list-footer")).to_contain_text("No run matches")
    page.locator(".chip-x").last.click()
    expect(loaded).to_have_count(1)
    expect(rows).to_have_count(1)

    # --- the run: track map and plot ------------------------------------------------------
    rows.first.click()
    expect(page).to_have_url(re.compile(f"/runs/{run_id}$"))
    expect(page.locator(".pane")).not_to_have_count(0)
    expect(page.locator(".plot-status")).to_have_text(re.compile("sample"), timeout=20_000)
    expect(page.locator(".run-head h1")).to_have_text(synth_files[0].name)
    assert coloured_pixels(page, ".track-canvas") > 500, "the track map is empty"
    first_pane = page.locator(".pane").first
    assert first_pane.get_attribute("data-key") == SIGNALS[0]  # speed comes first
    assert coloured_pixels(page, ".pane:first-child canvas", SERIES_BLUE) > 200, "no line in the plot"
    # Cursor read-out: the time and the value under the pointer. (docs/screenshots/run.png
    # and run-dark.png come from test_run_page_a11y.py.)
    box = first_pane.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    expect(page.locator(".t-readout")).to_have_text(re.compile(r"t = \d+\.\d{3} s"))
    expect(first_pane.locator(".pane-value")).to_have_text(re.compile(r"\d"))
    first_pane.scroll_into_view_if_needed()
    box = first_pane.locator(".u-over").bounding_box()
    assert box is not None
    # Zoom by dragging: the plot asks for that window at full resolution.
    with page.expect_request(re.compile(r"/series\?.*start=")) as zoomed:
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 20)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 20, steps=5)
        page.mouse.up()
    window = parse_qs(urlparse(zoomed.value.url).query)
    assert float(window["start"][0]) < float(window["end"][0])
    readout = page.locator(".win-readout")
    expect(readout).to_have_text(re.compile(r"\d+\.\d\d – \d+\.\d\d s"))
    # The plotted signals and the zoom are in the address: a reload (or a shared link) shows the same.
    keys = [p.get_attribute("data-key") for p in page.locator(".pane").all()]
    view = [float(x) for x in re.findall(r"\d+\.\d+", readout.inner_text())]
    assert parse_qs(urlparse(page.url).query)["s"] == keys
    page.reload()
    expect(page.locator(".plot-status")).to_have_text(re.compile("sample"))
    assert [p.get_attribute("data-key") for p in page.locator(".pane").all()] == keys
    assert np.allclose([float(x) for x in re.findall(r"\d+\.\d+", readout.inner_text())], view, atol=0.011)

    # --- export exactly 3 signals as MAT, over the zoomed window ---------------------------
    for key in [p.get_attribute("data-key") for p in page.locator(".pane").all()]:
        if key not in SIGNALS:
            page.locator(f'.tree-list input[type=checkbox][value="{key}"]').uncheck()
    search = page.locator(".tree-search")
    for key in SIGNALS[1:]:
        search.fill(key.split(":")[1])
        page.locator(f'.tree-list input[type=checkbox][value="{key}"]').check()
    search.fill("")
    expect(page.locator(".pane")).to_have_count(3)
    expect(page.locator(".export-selected .chip")).to_have_count(3)
    page.click(".window-buttons button:has-text('Plot view')")
    start = float(page.input_value("input[name=start]"))
    end = float(page.input_value("input[name=end]"))
    assert 0 <= start < end
    export = page.locator(".export-panel")
    # The two MATLAB/Octave lines for exactly this selection (clients/matlab), no token in them.
    call = export.locator(".export-matlab pre code").inner_text()
    assert call.startswith("pitwall.connect(") and "getenv('PITWALL_TOKEN')" in call
    def num(x: float) -> str:
        return f"{x:.3f}".rstrip("0").rstrip(".")

    assert (f"S = pitwall.load('{run_id}', {{" in call and f"'start', {num(start)}" in call
            and f"'end', {num(end)}" in call)
    assert all(f"'{key}'" in call for key in SIGNALS), call
    # Progress comes as server-sent events.
    with page.expect_response(re.compile(r"/api/v1/exports/[0-9a-f]+/events$")) as events:
        export.locator("button.btn.primary").click()
    assert events.value.status == 200 and events.value.headers["content-type"].startswith("text/event-stream")
    expect(export.locator(".progress")).to_be_visible()
    link = export.locator("a.download-link")
    expect(link).to_be_visible(timeout=60_000)
    expect(export.locator(".progress .percent")).to_have_text("100%")
    expect(export.locator(".progress .stage")).to_have_text(re.compile(r"^done"))
    export.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "export.png"))
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    mat_path = tmp_path / download.suggested_filename
    download.save_as(mat_path)

    # --- the file: the 3 signals, their values over the window, loadable by the snippets ---
    mat = scipy.io.loadmat(mat_path, squeeze_me=True, struct_as_record=False)
    assert sorted(k for k in mat if not k.startswith("__")) == ["ACU_data", "MCUOutputData", "VNData", "meta",
                                                               "signal_map"]
    assert sorted(row[0] for row in mat["signal_map"]) == sorted(SIGNALS)
    t = np.asarray(mat["VNData"].t)
    speed = np.asarray(mat["VNData"].vn_vel.x)
    assert t.size == speed.size > 10
    assert start - 0.01 <= t.min() and t.max() <= end + 0.01
    admin = {"Authorization": f"Bearer {web_stack.tokens['admin']}"}
    with httpx.Client(base_url=web_stack.base_url, headers=admin) as api:
        params = {"signals": SIGNALS[0], "start": start, "end": end, "max_points": 200_000}
        series = api.get(f"/api/v1/runs/{run_id}/series", params=params).raise_for_status().json()
    np.testing.assert_array_equal(speed, np.asarray(series["signals"][0]["v"], dtype=speed.dtype))
    assert np.asarray(mat["MCUOutputData"].torque_setpoint_nm.FL).size > 0
    assert np.asarray(mat["ACU_data"].pack_voltage).size > 0
    snippets = export.locator(".export-result .code pre code").all_inner_texts()
    assert f"load('{mat_path.name}')" in snippets[0]
    # The Python snippet as shown on the page runs against the downloaded file.
    ran = subprocess.run([sys.executable, "-c", snippets[1] + "\nprint(len(t), len(value))"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [str(t.size), str(speed.size)]


def admin_api(web_stack: WebStack) -> httpx.Client:
    return httpx.Client(base_url=web_stack.base_url, headers={"Authorization": f"Bearer {web_stack.tokens['admin']}"},
                        timeout=30)


def ensure_run(web_stack: WebStack, path: Path) -> dict[str, Any]:
    """The run of `path`, uploaded by the API if the upload test has not (a duplicate otherwise)."""
    with admin_api(web_stack) as api, path.open("rb") as f:
        run_id = api.post("/api/v1/uploads", files={"file": (path.name, f)}).raise_for_status().json()["id"]
        return wait_for_run(api, run_id)


def test_editor_edits_and_deletes_admin_restores(page: Page, web_stack: WebStack, synth_files: list[Path]) -> None:
    run = ensure_run(web_stack, synth_files[1])
    page.goto(f"/runs/{run['id']}")
    log_in(page, web_stack.tokens["editor"])
    expect(page.locator(".run-head h1")).to_have_text(synth_files[1].name)
    # Setup edit: the change goes through ingest and shows on the page.
    page.click("button:has-text('Edit setup')")
    page.fill("input[data-field=driver]", "Test Driver")
    page.click(".setup button:has-text('Save')")
    expect(page.locator(".setup dd").first).to_have_text("Test Driver")
    page.fill("input[name=tag]", "wet")
    page.press("input[name=tag]", "Enter")
    expect(page.locator(".tag-row .chip-text")).to_have_text(["wet"])
    # Delete asks first, then the run leaves the list.
    page.click(".run-head button:has-text('Delete')")
    page.click("dialog button:has-text('Delete run')")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".list-footer > *")).not_to_have_count(0)  # the list has loaded
    expect(page.locator(f"tr[data-run-id='{run['id']}']")).to_have_count(0)
    # An admin sees it among the deleted runs and restores it.
    page.click(".who button:has-text('Log out')")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/?deleted=1")
    log_in(page, web_stack.tokens["admin"])
    row = page.locator(f"tr[data-run-id='{run['id']}']")
    expect(row.locator(".badge")).to_have_text("deleted")
    row.click()
    page.click("button:has-text('Restore')")
    expect(page.locator(".banner.deleted")).to_have_count(0)
    expect(page.locator(".run-head .badge")).to_have_text("ready")


# (format, layout, resample_hz): every kind of file the builder offers.
SNIPPET_CASES = [
    ("mat", "struct", None), ("mat", "pairs", None), ("mat", "struct", 50.0),
    ("mat73", "struct", None), ("mat73", "pairs", None),
    ("csv", "struct", None), ("csv", "struct", 50.0), ("parquet", "struct", None), ("parquet", "struct", 50.0),
]


def test_python_snippets_load_every_format(page: Page, web_stack: WebStack, synth_files: list[Path],
                                           tmp_path: Path) -> None:
    """The Python code the page shows for each format reads the speed from that export."""
    run = ensure_run(web_stack, synth_files[0])
    page.goto("/login")
    log_in(page, web_stack.tokens["viewer"])
    expect(page.locator("h1")).to_have_text("Runs")
    try:
        import pandas  # noqa: F401 - the CSV/Parquet snippets use it
        cases = SNIPPET_CASES
    except ImportError:
        cases = [c for c in SNIPPET_CASES if c[0].startswith("mat")]
    with admin_api(web_stack) as api:
        stats = api.get(f"/api/v1/runs/{run['id']}/signals").raise_for_status().json()
        samples = next(s for t in stats["topics"] for s in t["signals"] if s["key"] == SIGNALS[0])["count"]
        assert cases, "no export format to load"
        for fmt, layout, hz in cases:
            body = {"runs": [run["id"]], "signals": [SIGNALS[0], SIGNALS[2]], "format": fmt, "layout": layout,
                    "resample_hz": hz}
            job = api.post("/api/v1/exports", json=body).raise_for_status().json()
            st = wait_for(lambda url=job["status_url"]: _finished(api, url), f"export {body} to finish", timeout=60,
                          every=0.2)
            assert st["status"] == "done", st["reason"]
            folder = tmp_path / f"{fmt}-{layout}-{hz}"
            folder.mkdir()
            (folder / st["filename"]).write_bytes(api.get(st["file_url"]).raise_for_status().content)
            code = page.evaluate(
                """async ([name, fmt, layout, resampled]) => {
                    const m = await import("/static/js/export.js");
                    const signal = {key: "VNData:vn_vel.x", topic: "VNData", path: "vn_vel.x"};
                    return m.snippets(name, fmt, layout, resampled, [signal]).python;
                }""",
                [st["filename"], fmt, layout, hz is not None],
            )
            ran = subprocess.run([sys.executable, "-c", code + "\nprint(len(t), len(value))"], cwd=folder,
                                 capture_output=True, text=True, timeout=60)
            assert ran.returncode == 0, f"{fmt}/{layout}/{hz}:\n{code}\n{ran.stderr}"
            n_t, n_v = map(int, ran.stdout.split())
            assert n_t == n_v > 0, (fmt, layout, hz)
            if hz is None:
                assert n_t == samples, (fmt, layout, hz)


def test_the_csp_watch_sees_a_violation(browser: Browser, web_stack: WebStack) -> None:
    # The check every page test makes can fail: an inline style and an inline script
    # added to the login page are blocked by its policy, and both are reported.
    context = browser.new_context(base_url=web_stack.base_url)
    page = context.new_page()
    violations = csp_watch.watch(context, page)
    try:
        page.goto("/login")
        expect(page.locator("#token")).to_be_visible()
        assert violations == []
        page.evaluate("""() => {
            const style = document.createElement("style");
            style.textContent = "body { background: red; }";
            document.head.append(style);
            const script = document.createElement("script");
            script.textContent = "window.injected = true;";
            document.head.append(script);
        }""")
        page.wait_for_function("() => true")
        deadline = time.monotonic() + 5
        while len(violations) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert any("style-src" in v for v in violations), violations
        assert any("script-src" in v for v in violations), violations
        assert page.evaluate("() => window.injected === undefined")
    finally:
        context.close()


def test_a_glob_that_matches_nothing_is_named_in_the_export_dialog(page: Page, web_stack: WebStack,
                                                                   synth_files: list[Path]) -> None:
    run = ensure_run(web_stack, synth_files[1])
    page.goto("/login")
    log_in(page, web_stack.tokens["viewer"])
    expect(page.locator("h1")).to_have_text("Runs")
    page.goto(f"/runs/{run['id']}")
    export = page.locator(".export-panel")
    globs = export.locator("textarea.globs")
    globs.fill("VNData:vn_vel.x\nVNDta:*")  # a typo in the topic
    export.locator("button.btn.primary").click()
    message = export.locator(".globs-error")
    expect(message).to_have_text("'VNDta:*' matches no signal of this run: fix or remove it, then export again")
    expect(globs).to_have_attribute("aria-invalid", "true")
    expect(export.locator(".progress")).to_have_count(0)  # nothing was exported without it
    # Fixed: the message goes, and the download is named after the run and the window.
    globs.fill("VNData:vn_vel.x")
    expect(message).to_be_hidden()
    page.fill("input[name=start]", "2")
    page.fill("input[name=end]", "7.5")
    export.locator("button.btn.primary").click()
    link = export.locator("a.download-link")
    expect(link).to_be_visible(timeout=60_000)
    started = datetime.fromisoformat(run["start_time"])
    name = link.get_attribute("download") or ""
    assert (name.startswith(f"{run['setup']['event_type']}_{started:%Y-%m-%d_%H%M}_")
            and name.endswith("sig_2-7.5s.mat")), name
