"""The base stations panel in a real browser: a station's pending count moves as the car records."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from test_web import log_in, page, shots  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from conftest import WebStack

    from pitwall.devstack.services import ServiceProcess

pytestmark = [pytest.mark.browser, pytest.mark.stack]
ONLINE = re.compile(r"\bonline\b")


async def _uploader_token(stack: WebStack) -> str:
    from pitwall.common import db
    from pitwall.common import tokenstore as tokens
    from pitwall.common.contracts import mongo

    client = db.make_client(stack.settings)
    try:
        _info, secret = await tokens.create(db.database(client, stack.settings)[mongo.TOKENS], "uploader",
                                            "station pit-web")
        return secret
    finally:
        await client.close()


@pytest.fixture
def station(web_stack: WebStack, tmp_path: Path) -> Iterator[tuple[ServiceProcess, Path]]:
    from testsupport.services import start_service, wait_until_ready

    from pitwall.devstack.endpoints import settings_env

    with ThreadPoolExecutor(1) as pool:
        token = pool.submit(asyncio.run, _uploader_token(web_stack)).result()
    car = tmp_path / "car"
    car.mkdir()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_")}
    env = inherited | settings_env(web_stack.settings) | {
        "PITWALL_BASESTATION_STATION_ID": "pit-web",
        "PITWALL_BASESTATION_API_URL": web_stack.base_url,
        "PITWALL_BASESTATION_TOKEN": token,
        "PITWALL_BASESTATION_SPOOL_DIR": str(tmp_path / "spool"),
        "PITWALL_BASESTATION_SOURCES": json.dumps([{"id": "car", "kind": "directory", "path": str(car)}]),
        "PITWALL_BASESTATION_SETTLE_S": "1.5",
        "PITWALL_BASESTATION_SCAN_INTERVAL_S": "0.5",
        "PITWALL_BASESTATION_HEARTBEAT_S": "1",
        "PITWALL_BASESTATION_CONFIRM_POLL_S": "0.5",
    }
    # Tracked in the stack: its log is in the report of a failed test.
    proc = start_service("basestation", env, tmp_path / "station.log", wait=False, track=web_stack.services)
    try:
        wait_until_ready(proc, timeout=30)
        yield proc, car
    finally:
        proc.stop()
        web_stack.services.remove(proc)


def _record(src: bytes, dest: Path, seconds: float) -> None:
    steps = 12
    with open(dest, "wb") as f:
        for i in range(steps):
            f.write(src[i * len(src) // steps : (i + 1) * len(src) // steps])
            f.flush()
            time.sleep(seconds / steps)  # the logger's pace: the page shows the file pending meanwhile


def test_station_panel_follows_the_car(page: Page, web_stack: WebStack, station: tuple[ServiceProcess, Path],  # noqa: F811
                                       shots: Path, tmp_path: Path) -> None:  # noqa: F811
    from pitwall.synth import write_synth

    _proc, car = station
    write_synth(tmp_path / "src.mcap", minutes=0.1, seed=77)
    page.goto("/")
    log_in(page, web_stack.tokens["viewer"])
    card = page.locator("article.station[data-station-id='pit-web']")
    expect(card).to_be_visible(timeout=20_000)
    expect(card).to_have_class(ONLINE)
    pending = card.locator("[data-key=pending_on_car] .st-num")
    confirmed = card.locator("[data-key=confirmed] .st-num")
    expect(pending).to_have_text("0")
    expect(confirmed).to_have_text("0")

    # The logger starts recording: the file is on the car, still growing, not taken.
    recorder = threading.Thread(target=_record, args=((tmp_path / "src.mcap").read_bytes(), car / "stint-1.mcap", 8.0))
    recorder.start()
    expect(pending).to_have_text("1", timeout=15_000)
    page.locator("section.stations-panel").screenshot(path=str(shots / "stations.png"))
    recorder.join()
    # Finished: copied, uploaded, confirmed; the run shows in the list without a reload.
    expect(confirmed).to_have_text("1", timeout=60_000)
    expect(pending).to_have_text("0")
    expect(page.locator("table.runs tbody tr[data-run-id]")).to_have_count(1, timeout=15_000)
    expect(page.locator("table.runs tbody")).to_contain_text("stint-1.mcap")
    page.screenshot(path=str(shots / "stations-runs.png"), clip={"x": 0, "y": 0, "width": 1440, "height": 560})
    expect(card).to_have_class(ONLINE)
