"""The runs list in Chromium on the real stack: runs grouped by day under a header line
(date · tracks · count), ordered by clicking the Recorded / Uploaded column headers, a
wrong recording clock still first by upload, distinct filter labels, and no "No run
matches" flashing while a word is typed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import csp_watch
import pytest
from playwright.sync_api import Browser, Page, expect
from pymongo import MongoClient
from test_web import log_in

from pitwall.common.contracts import mongo
from pitwall.common.contracts.searchwords import word_set as tokens
from pitwall.common.summaries import run_summary

if TYPE_CHECKING:
    from conftest import WebStack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

ATLANTA = "Road Atlanta - paddock"
MICHIGAN = "Michigan International Speedway - lot 5"
# name: (file, recorded, uploaded, track)
RUNS: dict[str, tuple[str, datetime, datetime, str]] = {
    "a": ("endurance_a.mcap", datetime(2024, 5, 4, 15, tzinfo=UTC), datetime(2025, 6, 2, 9, tzinfo=UTC), ATLANTA),
    "b": ("autocross_b.mcap", datetime(2024, 5, 4, 17, tzinfo=UTC), datetime(2025, 6, 1, 10, tzinfo=UTC), MICHIGAN),
    "c": ("testing_c.mcap", datetime(2024, 5, 2, 16, tzinfo=UTC), datetime(2025, 6, 2, 8, tzinfo=UTC), ATLANTA),
    "d": ("testing_d.mcap", datetime(2000, 1, 1, tzinfo=UTC), datetime(2025, 6, 3, 12, tzinfo=UTC), "Lincoln Airpark"),
    "e": ("autocross_e.mcap", datetime(2024, 5, 2, 18, tzinfo=UTC), datetime(2025, 6, 1, 11, tzinfo=UTC), ATLANTA),
}


@pytest.fixture(scope="module")
def ids(web_stack: WebStack) -> dict[str, str]:
    """The runs, written as ingest writes them (run, then its summary)."""
    out = {}
    client: MongoClient[dict[str, Any]] = MongoClient(web_stack.settings.mongo_url)
    try:
        db = client[web_stack.settings.mongo_db]
        for name, (filename, recorded, uploaded, track) in RUNS.items():
            run_id = f"{name * 8}{'0' * 56}"
            setup = {"track": track, "driver": "Adam", "event_type": filename.split("_")[0], "car": "HT09"}
            run = {
                "_id": run_id, "filename": filename, "status": "ready", "start_time": recorded,
                "start_ns": int(recorded.timestamp()) * 10**9, "duration_s": 60.0, "setup": setup, "tags": [],
                "notes": "", "deleted": False, "ingested_at": uploaded, "updated_at": uploaded, "topics": [],
                "signal_keys": [], "search": tokens(filename, *setup.values()),
            }
            db[mongo.RUNS].insert_one(run)
            db[mongo.RUN_SUMMARIES].insert_one(run_summary(run))
            out[name] = run_id
    finally:
        client.close()
    return out


@pytest.fixture
def page(browser: Browser, web_stack: WebStack, ids: dict[str, str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-GB", timezone_id="UTC",
                                  base_url=web_stack.base_url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_watch.watch(context, page)
    page.goto("/login")
    log_in(page, web_stack.tokens["viewer"])
    expect(page.locator("table.runs[aria-busy=false]")).to_have_count(1)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"Content-Security-Policy violations on the page: {violations}"


def listed(page: Page, ids: dict[str, str]) -> list[str]:
    """The runs in the order shown, by their names in RUNS."""
    names = {v: k for k, v in ids.items()}
    return [names[r.get_attribute("data-run-id") or ""] for r in page.locator("table.runs tbody tr[data-run-id]").all()]


def day_heads(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("table.runs tr.day-head").all_inner_texts()]


def test_day_groups_and_ordering_by_column_headers(page: Page, ids: dict[str, str]) -> None:
    # Newest recording first, one header line per recording day.
    expect(page.locator("table.runs tr.day-head")).to_have_count(3)
    assert listed(page, ids) == ["b", "a", "e", "c", "d"]
    assert day_heads(page) == [
        f"Sat, 4 May 2024 · {MICHIGAN}, {ATLANTA} · 2 runs",
        f"Thu, 2 May 2024 · {ATLANTA} · 2 runs",
        "Sat, 1 Jan 2000 · Lincoln Airpark · 1 run",
    ]
    recorded, uploaded = page.locator("th", has_text="Recorded"), page.locator("th", has_text="Uploaded")
    expect(recorded).to_have_attribute("aria-sort", "descending")
    expect(uploaded).to_have_attribute("aria-sort", "none")
    # Each run says when it was uploaded.
    expect(page.locator(f"tr[data-run-id='{ids['d']}'] td.uploaded")).to_have_text(re.compile(r"3 Jun 2025.*12:00"))

    # Uploaded: the year-2000 clock is today's upload, on top; groups by upload day.
    uploaded.locator("button").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=-uploaded"))
    expect(uploaded).to_have_attribute("aria-sort", "descending")
    expect(recorded).to_have_attribute("aria-sort", "none")
    expect(page.locator("table.runs tbody tr[data-run-id]").first).to_have_attribute("data-run-id", ids["d"])
    assert listed(page, ids) == ["d", "a", "c", "e", "b"]
    assert day_heads(page) == [
        "Tue, 3 Jun 2025 · Lincoln Airpark · 1 run",
        f"Mon, 2 Jun 2025 · {ATLANTA} · 2 runs",
        f"Sun, 1 Jun 2025 · {ATLANTA}, {MICHIGAN} · 2 runs",
    ]
    expect(page.locator("select[name=sort]")).to_have_value("-uploaded")

    # A second click flips it.
    uploaded.locator("button").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=uploaded"))
    expect(uploaded).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("table.runs tbody tr[data-run-id]").first).to_have_attribute("data-run-id", ids["b"])
    assert listed(page, ids) == ["b", "e", "c", "a", "d"]

    # Back to recording time, newest first (the default: no sort in the address), then oldest.
    recorded.locator("button").click()
    expect(page).not_to_have_url(re.compile(r"sort="))
    expect(page.locator("table.runs tbody tr[data-run-id]").first).to_have_attribute("data-run-id", ids["b"])
    recorded.locator("button").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=start"))
    expect(page.locator("table.runs tbody tr[data-run-id]").first).to_have_attribute("data-run-id", ids["d"])
    assert listed(page, ids) == ["d", "c", "e", "a", "b"]


def test_one_run_a_page_keeps_adding_to_its_day(page: Page, ids: dict[str, str]) -> None:
    page.goto("/?limit=1")
    expect(page.locator("table.runs tr.day-head")).to_have_text([f"Sat, 4 May 2024 · {MICHIGAN} · 1 run"])
    page.click(".list-footer button:has-text('Load more')")
    expect(page.locator("table.runs tr.day-head")).to_have_text([f"Sat, 4 May 2024 · {MICHIGAN}, {ATLANTA} · 2 runs"])


def test_typing_a_word_never_flashes_no_match_and_labels_are_distinct(page: Page, ids: dict[str, str]) -> None:
    labels = [t.strip() for t in page.locator("form.filters .field-label").all_text_contents()]
    assert len(labels) == len(set(labels)) and {"Event type", "Marked event"} <= set(labels), labels
    page.evaluate("""() => {
        window.__emptySeen = false;
        new MutationObserver(() => { if (document.querySelector(".list-footer .empty")) window.__emptySeen = true; })
            .observe(document.querySelector(".list-footer"), { childList: true, subtree: true });
    }""")
    # Slower than the list's debounce: every start of the word is asked for.
    page.locator("input[name=q]").press_sequentially("endur", delay=450)
    expect(page).to_have_url(re.compile(r"q=endur"))
    expect(page.locator("table.runs tbody tr[data-run-id]")).to_have_count(1)
    assert listed(page, ids) == ["a"]
    assert page.evaluate("window.__emptySeen") is False
    # A track by the start of its name, from the address.
    page.goto("/?track=michigan")
    expect(page.locator("table.runs tbody tr[data-run-id]")).to_have_count(1)
    assert listed(page, ids) == ["b"]
