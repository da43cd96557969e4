"""Units, descriptions and state names on the web page, from CAN descriptions loaded
through the API (issue 23): the unit on the plot's axis and in the cursor read-out, a state
signal drawn as labelled steps with its state's name under the cursor, the signal tree
showing (and finding) descriptions and display names; on the compare page, units and state
names likewise; axe-core finds nothing serious on either page, light or dark.

Every expectation comes from the description's text by regex (the team's .sym: unit, enum
names, comment; synth's DBC: unit, VAL_ names), from the MCAP file itself, or from the values
this module writes: never from the API's answer (which is only waited on).

Screenshot: docs/screenshots/run-units-states.png with PITWALL_SCREENSHOTS=1.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest
from mcap.reader import make_reader
from mcap_protobuf.decoder import DecoderFactory
from playwright.sync_api import Browser, Page, expect
from test_web import admin_api, ensure_run, log_in, page, shots  # noqa: F401  (fixtures)
from testsupport.canmcap import write_can_mcap
from testsupport.symtext import HYTECH, SYM_2024, sym_comment, sym_signal_enum, sym_unit
from testsupport.waiting import wait_for

if TYPE_CHECKING:
    from conftest import WebStack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SYM = SYM_2024
RECORDED = HYTECH / "03_26_2024_23_10_23_RECOVERED_V2.mcap"  # recorded 2024-03-06
VALID_FROM = "2024-01-01"
if not HYTECH.is_dir():
    pytest.skip(f"no team data at {HYTECH}", allow_module_level=True)

PRESSURE = "lf_ttpms_1_data:LF_TTPMS_P"
STATE = "mcu_status_data:ecu_state"
PEDAL = "mcu_pedal_readings_data:accel_percent_float"
SERIES_BLUE = (37, 99, 235)  # the first plot colour, #2563eb

# The drive-state file: one sample per 250 ms on both topics, from 2024-03-06 12:00 UTC.
PERIOD_S = 0.25
CODES = [0] * 4 + [1] * 6 + [2] * 6 + [3] * 4 + [4] * 8 + [5] * 26 + [2] * 6
READY = CODES.index(5)  # first sample in code 5
PEDAL_VALUES = [round(max(0.0, 95 * math.sin(math.pi * (i - READY) / 6)), 1) if READY <= i < READY + 24 else 0.0
                for i in range(len(CODES))]

# Text drawn on each plot's canvas, by the data-key of its pane: axis labels, ticks, state names.
DRAWN_TEXT = """(() => {
    const drawn = [];
    window.__drawnText = drawn;
    const fill = CanvasRenderingContext2D.prototype.fillText;
    CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
        const pane = this.canvas.closest ? this.canvas.closest(".pane") : null;
        drawn.push({key: pane ? pane.dataset.key : null, text: String(text)});
        return fill.call(this, text, ...rest);
    };
})()"""

# Pixel rows (canvas px) near `rgb` in the canvas column at each fraction of the plot area's width.
COLUMN_ROWS = """([canvas, over, fracs, rgb]) => {
    const c = canvas.getBoundingClientRect();
    const o = over.getBoundingClientRect();
    const scale = canvas.width / c.width;
    const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    return fracs.map((f) => {
        const x = Math.round((o.left - c.left + f * o.width) * scale);
        const rows = [];
        for (let y = Math.round((o.top - c.top) * scale); y < Math.round((o.bottom - c.top) * scale); y++) {
            const i = (y * canvas.width + x) * 4;
            if (d[i + 3] > 150 && Math.abs(d[i] - rgb[0]) < 45 && Math.abs(d[i + 1] - rgb[1]) < 45
                && Math.abs(d[i + 2] - rgb[2]) < 45) rows.push(y);
        }
        return rows;
    });
}"""


def field_values(path: Path, topic: str, field: str) -> list[float]:
    """Every value of `field` on `topic`, decoded from the MCAP with the official readers."""
    with path.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        return [float(getattr(decoded, field)) for *_, decoded in reader.iter_decoded_messages(topics=[topic])]


def drawn_text(pg: Page, key: str) -> list[str]:
    return list(pg.evaluate("(key) => window.__drawnText.filter((d) => d.key === key).map((d) => d.text)", key))


def signal_info(api: Any, run_id: str, key: str) -> dict[str, Any] | None:
    tree = api.get(f"/api/v1/runs/{run_id}/signals").raise_for_status().json()
    return next((s for t in tree["topics"] for s in t["signals"] if s["key"] == key), None)


@pytest.fixture(scope="module")
def runs(web_stack: WebStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The .sym loaded as the 2024 description, the team's recording and a drive-state file ingested."""
    drive = write_can_mcap(tmp_path_factory.mktemp("units") / "drive_states.mcap", 1_709_726_400 * 10**9, {
        "mcu_status_data": ("mcu_status", {"ecu_state": ("int32", CODES)}),
        "mcu_pedal_readings_data": ("mcu_pedal_readings", {"accel_percent_float": ("float", PEDAL_VALUES)}),
    }, period_ns=int(PERIOD_S * 1e9))
    with admin_api(web_stack) as api:
        added = api.post("/api/v1/catalogue/sources", files={"file": (SYM.name, SYM.read_bytes())},
                         data={"valid_from": VALID_FROM})
        assert added.status_code == 202, added.text
        made = {"recorded": ensure_run(web_stack, RECORDED), "drive": ensure_run(web_stack, drive)}
        # Ingest stores the source within moments of the answer: wait until both runs see it.
        for run_id, key in ((made["recorded"]["id"], PRESSURE), (made["drive"]["id"], STATE)):
            wait_for(lambda r=run_id, k=key: (signal_info(api, r, k) or {}).get("origins"),
                     f"the CAN description to reach {key}", timeout=30, every=0.3)
    return made


def open_plot(pg: Page, web_stack: WebStack, run_id: str, keys: list[str]) -> None:
    pg.add_init_script(DRAWN_TEXT)
    pg.goto(f"/runs/{run_id}?" + "&".join(f"s={k}" for k in keys))
    log_in(pg, web_stack.tokens["viewer"])
    expect(pg.locator(".plot-status")).to_have_text(re.compile("sample"))
    expect(pg.locator(".pane")).to_have_count(len(keys))


def hover(pg: Page, key: str, frac: float) -> None:
    box = pg.locator(f".pane[data-key='{key}'] .u-over").bounding_box()
    assert box is not None
    pg.mouse.move(box["x"] + box["width"] * frac, box["y"] + box["height"] * 0.5)


def test_the_unit_is_on_the_axis_and_in_the_read_out(
    page: Page, web_stack: WebStack, runs: dict[str, dict[str, Any]],  # noqa: F811
) -> None:
    unit = sym_unit(SYM, "LF_TTPMS_P")
    values = field_values(RECORDED, "lf_ttpms_1_data", "LF_TTPMS_P")
    assert unit == "mbar" and values
    open_plot(page, web_stack, runs["recorded"]["id"], [PRESSURE])
    pane = page.locator(f".pane[data-key='{PRESSURE}']")
    # The tree: the unit after the name; the pane's head and its y axis (drawn on the canvas).
    page.fill(".tree-search", "LF_TTPMS_P")
    row = page.locator(f'label.sig[data-key="{PRESSURE}"]')
    expect(row.locator(".sig-unit")).to_have_text(f"[{unit}]")
    expect(pane.locator(".pane-unit")).to_have_text(f"[{unit}]")
    assert unit in drawn_text(page, PRESSURE), "the axis has no unit label"
    # The cursor read-out: a value of the file, then its unit.
    hover(page, PRESSURE, 0.5)
    readout = pane.locator(".pane-value")
    expect(readout).to_have_text(re.compile(rf"^-?\d+(\.\d+)? {re.escape(unit)}$"))
    shown = float(readout.inner_text().split()[0])
    assert shown in values, (shown, sorted(set(values)))
    # A signal the description gives no unit keeps a bare value.
    page.fill(".tree-search", "LF_TTPMS_SN")
    page.locator('.tree-list input[type=checkbox][value="lf_ttpms_1_data:LF_TTPMS_SN"]').check()
    plain = page.locator(".pane[data-key='lf_ttpms_1_data:LF_TTPMS_SN']")
    expect(plain).to_have_count(1)
    assert sym_unit(SYM, "LF_TTPMS_SN") is None
    expect(plain.locator(".pane-unit")).to_have_count(0)
    hover(page, "lf_ttpms_1_data:LF_TTPMS_SN", 0.5)
    expect(plain.locator(".pane-value")).to_have_text(re.compile(r"^-?\d+(\.\d+)?$"))


def test_a_state_signal_is_drawn_as_labelled_steps(
    page: Page, web_stack: WebStack, runs: dict[str, dict[str, Any]], shots: Path,  # noqa: F811
) -> None:
    states = sym_signal_enum(SYM, "ecu_state")
    assert states[5] == "READY_TO_DRIVE" and set(CODES) <= set(states)
    run = runs["drive"]
    open_plot(page, web_stack, run["id"], [STATE])
    canvas = page.locator(f".pane[data-key='{STATE}'] canvas")

    # Steps: the line holds a state's level until the next sample, then jumps (a line
    # joining the samples would be part-way at 0.4 of a period before the change).
    duration = (len(CODES) - 1) * PERIOD_S
    assert abs(run["duration_s"] - duration) < 1e-6, run["duration_s"]

    def at(t: float) -> float:
        return t / duration

    ready_t = READY * PERIOD_S
    fracs = [at((READY - 4) * PERIOD_S), at(ready_t + 8 * PERIOD_S), at(ready_t - 0.4 * PERIOD_S),
             at(ready_t + 0.4 * PERIOD_S)]
    rows = page.evaluate(COLUMN_ROWS, [canvas.element_handle(), page.locator(f".pane[data-key='{STATE}'] .u-over")
                                       .element_handle(), fracs, list(SERIES_BLUE)])
    assert all(rows), f"no line in some column: {rows}"
    level4, level5, before, after = (sum(r) / len(r) for r in rows)
    assert abs(level4 - level5) > 15, (level4, level5)
    assert abs(before - level4) <= 2 and abs(after - level5) <= 2, (level4, level5, before, after)
    # Labelled: each state the signal takes is named on the plot (on the axis, or where it enters it).
    drawn = drawn_text(page, STATE)
    for code in sorted(set(CODES)):
        name = states[code]
        assert any(text == name or (text.endswith("…") and name.startswith(text[:-1])) for text in drawn), \
            f"{name} ({code}) is not drawn: {sorted(set(drawn))}"
    # Under the cursor: the state's name and its code.
    hover(page, STATE, at(ready_t + 8 * PERIOD_S))
    expect(page.locator(f".pane[data-key='{STATE}'] .pane-value")).to_have_text(f"{states[5]} (5)")
    hover(page, STATE, at(2 * PERIOD_S))
    expect(page.locator(f".pane[data-key='{STATE}'] .pane-value")).to_have_text(f"{states[0]} (0)")
    # The tree names the states the run went through.
    page.fill(".tree-search", "ecu_state")
    stats = page.locator(f'label.sig[data-key="{STATE}"] .sig-stats')
    expect(stats).to_contain_text(f"{states[0]} · {states[1]} · {states[2]}")

    # For the README: the pedal (a unit) over the state it is pressed in.
    page.goto(f"/runs/{run['id']}?s={PEDAL}&s={STATE}")
    expect(page.locator(".plot-status")).to_have_text(re.compile("sample"))
    page.fill(".tree-search", "mcu")
    pedal_unit = sym_unit(SYM, "accel_percent_float")
    assert pedal_unit
    hover(page, PEDAL, at(ready_t + 3 * PERIOD_S))
    expect(page.locator(f".pane[data-key='{PEDAL}'] .pane-value")).to_have_text(
        re.compile(rf"\d {re.escape(pedal_unit)}$"))
    page.screenshot(path=str(shots / "run-units-states.png"))


def test_the_tree_shows_and_finds_descriptions_and_display_names(
    page: Page, web_stack: WebStack, runs: dict[str, dict[str, Any]],  # noqa: F811
) -> None:
    comment = sym_comment(SYM, "accel_percent_float")
    unit = sym_unit(SYM, "accel_percent_float")
    assert comment and unit
    run_id = runs["drive"]["id"]
    page.goto(f"/runs/{run_id}")
    log_in(page, web_stack.tokens["viewer"])
    search = page.locator(".tree-search")
    pedal = page.locator(f'label.sig[data-key="{PEDAL}"]')
    state = page.locator(f'label.sig[data-key="{STATE}"]')
    # Words of the description, in another order, find the signal; the other one is hidden.
    words = [w for w in re.findall(r"[a-z]{5,}", comment.lower()) if w not in PEDAL.lower()]
    assert len(words) >= 2, comment
    search.fill(f"{words[-1]} {words[0]}")
    expect(page.locator(".tree-summary")).to_contain_text("1 matching")
    expect(pedal).to_be_visible()
    expect(state).to_be_hidden()
    expect(pedal.locator(".sig-desc")).to_have_text(comment)
    expect(pedal.locator(".sig-unit")).to_have_text(f"[{unit}]")
    assert comment in (pedal.get_attribute("title") or "")

    # An editor names the signal: the tree shows the name, the path below it, and finds it by the name.
    with admin_api(web_stack) as api:
        api.put(f"/api/v1/catalogue/signals/{PEDAL}", json={"display_name": "Throttle pedal"}).raise_for_status()
        wait_for(lambda: (signal_info(api, run_id, PEDAL) or {}).get("display_name") == "Throttle pedal",
                 "the display name to be stored", timeout=30, every=0.3)
    page.reload()
    search.fill("throttle")
    expect(page.locator(".tree-summary")).to_contain_text("1 matching")
    expect(pedal).to_be_visible()
    expect(state).to_be_hidden()
    expect(pedal.locator(".sig-path")).to_have_text("Throttle pedal")
    expect(pedal.locator(".sig-desc")).to_have_text(f"accel_percent_float · {comment}")
    pedal.locator("input[type=checkbox]").check()
    expect(page.locator(f".pane[data-key='{PEDAL}'] .pane-key")).to_contain_text("Throttle pedal")


# --- the compare page, on synth laps described by synth's own CAN description (DBC) ----------

SPEED = "mc1_status_data:speed_rpm"
CAR_STATE = "mcu_status_data:mcu_state"


def dbc_block(text: str, message: str) -> tuple[str, str]:
    """The frame id and the signal lines of `message` in a DBC text."""
    found = re.search(rf"^BO_ (\d+) {re.escape(message)}:[^\n]*\n((?: SG_[^\n]*\n)+)", text, re.MULTILINE)
    assert found, f"no message {message} in the DBC"
    return found.group(1), found.group(2)


def dbc_unit(text: str, message: str, signal: str) -> str:
    found = re.search(rf'^ SG_ {re.escape(signal)} :[^\n"]*"([^"\n]*)"', dbc_block(text, message)[1], re.MULTILINE)
    assert found, f"no signal {signal} in {message}"
    return found.group(1)


def dbc_states(text: str, message: str, signal: str) -> dict[int, str]:
    frame, _ = dbc_block(text, message)
    found = re.search(rf"^VAL_ {frame} {re.escape(signal)} (.*?) ;$", text, re.MULTILINE)
    assert found, f"no VAL_ for {message}.{signal}"
    return {int(code): name for code, name in re.findall(r'(-?\d+) "([^"]*)"', found.group(1))}


def compare_url(run_id: str, laps: list[dict[str, Any]]) -> str:
    picked = ",".join(f"{run_id}:{lap['lap']}" for lap in laps)
    return f"/compare?laps={picked}&signals={SPEED},{CAR_STATE}"


@pytest.fixture(scope="module")
def described_laps(web_stack: WebStack, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """A synth run of a few laps, and synth's DBC in the catalogue from the run's day on.

    Dated, because the team's .sym above (from 2024) names some of the same signals (MC1_STATUS
    speed_rpm, without a unit): for a run, the latest valid description that names a signal wins.
    """
    from pitwall.synth import write_synth
    from pitwall.synth.can_description import write_can_description

    folder = tmp_path_factory.mktemp("units-synth")
    write_synth(folder / "described_laps.mcap", minutes=3.5, seed=51, track_seed=11)
    dbc = write_can_description(folder)
    with admin_api(web_stack) as api:
        run = ensure_run(web_stack, folder / "described_laps.mcap")
        day = run["start_time"][:10]
        # After the team's recordings, so the DBC (synth's tyre pressures are kPa) leaves them alone.
        assert day > "2024-03-06", f"the synth run's day {day} is not after the team's recordings"
        added = api.post("/api/v1/catalogue/sources", files={"file": (dbc.name, dbc.read_bytes())},
                         data={"valid_from": day})
        assert added.status_code == 202, added.text
        run["laps"] = api.get(f"/api/v1/runs/{run['id']}/laps").raise_for_status().json()["laps"]
        wait_for(lambda: (signal_info(api, run["id"], SPEED) or {}).get("origins"),
                 "the DBC to reach the synth run", timeout=30, every=0.3)
    assert len(run["laps"]) >= 2, run["laps"]
    return run, dbc.read_text(encoding="utf-8")


def test_the_compare_page_shows_units_and_state_names(
    page: Page, web_stack: WebStack, described_laps: tuple[dict[str, Any], str],  # noqa: F811
) -> None:
    run, dbc = described_laps
    unit = dbc_unit(dbc, "mc1_status", "speed_rpm")
    states = dbc_states(dbc, "mcu_status", "mcu_state")
    assert unit and states
    laps = sorted(run["laps"], key=lambda lap: lap["time_s"])[:2]
    page.add_init_script(DRAWN_TEXT)
    page.goto(compare_url(run["id"], laps))
    log_in(page, web_stack.tokens["viewer"])
    expect(page.locator(".cmp-grid[aria-busy=false]")).to_have_count(1)
    expect(page.locator(".cmp-plot-panel .plot-status")).to_have_text(re.compile(r"\d+ points"))
    speed = page.locator(f".compare-panes .pane[data-key='{SPEED}']")
    state = page.locator(f".compare-panes .pane[data-key='{CAR_STATE}']")
    expect(speed.locator(".pane-unit")).to_have_text(f"[{unit}]")
    assert unit in drawn_text(page, SPEED), "the axis has no unit label"
    state.scroll_into_view_if_needed()
    box = speed.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    # Every lap's value under the cursor, with the unit; the state by its name in the DBC.
    values = speed.locator(".cmp-value")
    expect(values).to_have_count(2)
    for k in range(2):
        expect(values.nth(k)).to_have_text(re.compile(rf"^-?\d[\d.e+-]* {re.escape(unit)}$"))
    named = state.locator(".cmp-value")
    expect(named).to_have_count(2)
    for k in range(2):
        expect(named.nth(k)).to_have_text(re.compile(r"^\w+ \(\d+\)$"))
        name, code = re.fullmatch(r"(\w+) \((\d+)\)", named.nth(k).inner_text()).groups()  # type: ignore[union-attr]
        assert states[int(code)] == name, (name, code, states)
        assert name in drawn_text(page, CAR_STATE), f"{name} is not on the state's axis"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_units_and_descriptions_keep_the_pages_accessible(
    browser: Browser, web_stack: WebStack, scheme: Literal["light", "dark"], described_laps: tuple[dict[str, Any], str],
) -> None:
    from test_run_page_a11y import serious_violations

    run, _ = described_laps
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB", timezone_id="UTC",
                                  color_scheme=scheme, base_url=web_stack.base_url, bypass_csp=True)
    try:
        pg = context.new_page()
        pg.goto(f"/runs/{run['id']}?s={SPEED}&s={CAR_STATE}")
        log_in(pg, web_stack.tokens["viewer"])
        expect(pg.locator(".plot-status")).to_have_text(re.compile("sample"))
        pg.fill(".tree-search", "mc1_status_data:")  # a topic of units and descriptions, opened
        expect(pg.locator(f'label.sig[data-key="{SPEED}"] .sig-desc')).to_be_visible()
        expect(pg.locator(f'label.sig[data-key="{SPEED}"] .sig-unit')).to_be_visible()
        found = {"run": serious_violations(pg)}
        laps = sorted(run["laps"], key=lambda lap: lap["time_s"])[:2]
        pg.goto(compare_url(run["id"], laps))
        expect(pg.locator(".cmp-grid[aria-busy=false]")).to_have_count(1)
        found["compare"] = serious_violations(pg)
        assert not any(found.values()), "\n".join(f"{name}: {v}" for name, vs in found.items() for v in vs)
    finally:
        context.close()
