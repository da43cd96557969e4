"""Units and state names reach the Python client's users, on the real stack with ingest and
the converter: the team's CAN description loaded through `Client.load_can`, the team's real
MCAP uploaded, and every unit checked against the .sym text itself (`/u:` of each signal's
definition), never against what the catalogue answers elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers.api import Api, require_ok
from helpers.with_ingest import start_api_with_ingest_and_converter, wait_for
from testsupport.symtext import sym_units

from pitwall.client import Client
from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack
REAL = "03_26_2024_23_10_23_RECOVERED_V2.mcap"
SYM = "hytech-2024-03-26.sym"
PRESSURE = "lf_ttpms_1_data:LF_TTPMS_P"
TYRE = "lf_ttpms_1_data"
# A signal the .sym gives no unit: the client must not invent one.
TORQUE = "mc1_torque_command_data:torque_command"
HV = "mc4_setpoints_command_data:hv_enable"


@pytest.fixture(scope="module")
def hytech(hytech_dir: Path) -> Path:
    if not (hytech_dir / SYM).is_file():
        pytest.skip(f"{SYM} is not in {hytech_dir}")
    return hytech_dir


@pytest.fixture(scope="module")
def units(hytech: Path) -> dict[str, str | None]:
    found = sym_units(hytech / SYM)
    assert found.get("LF_TTPMS_P") == "mbar" and "torque_command" in found and found["torque_command"] is None
    return found


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    yield from start_api_with_ingest_and_converter(settings, service_env, endpoints,
                                                   tmp_path_factory.mktemp("client-units"), "clientunits")


@pytest.fixture(scope="module")
def loaded(stack: Api, hytech: Path) -> dict[str, Any]:
    """The CAN description, loaded through the client and stored by ingest."""
    with Client(stack.base_url, stack.tokens["editor"]) as pw:
        answer = pw.load_can(hytech / SYM, valid_from=date(2024, 1, 1))

    def stored() -> bool:
        with stack.client("viewer") as c:
            items = require_ok(c.get("/api/v1/catalogue/sources"))["items"]
        return any(s["id"] == answer["id"] and not s["deleted"] for s in items)

    wait_for(stored, "the CAN description stored by ingest", 30)
    return answer


@pytest.fixture(scope="module")
def run_id(stack: Api, hytech: Path, loaded: dict[str, Any]) -> str:
    with Client(stack.base_url, stack.tokens["uploader"]) as pw:  # editing and uploading are separate roles
        rid = str(pw.upload(hytech / REAL)["id"])

    def ingested() -> bool:
        with stack.client("viewer") as c:  # 404 until ingest made the run
            return c.get(f"/api/v1/runs/{rid}").json().get("status") in ("ready", "recovered")

    wait_for(ingested, "the real run ingested", 60)
    return rid


@pytest.fixture
def pw(stack: Api) -> Iterator[Client]:
    with Client(stack.base_url, stack.tokens["viewer"]) as client:
        yield client


def test_load_can_answers_what_the_file_holds(loaded: dict[str, Any], hytech: Path) -> None:
    text = (hytech / SYM).read_text(encoding="utf-8")
    assert loaded["format"] == "sym" and loaded["name"] == SYM
    assert loaded["valid_from"] == "2024-01-01"
    assert loaded["messages"] == len(re.findall(r"^\[[^\]]+\]", text, re.M)) == 87


def test_series_and_their_frame_carry_the_units_of_the_can_description(
    pw: Client, run_id: str, units: dict[str, str | None]
) -> None:
    tyre = sorted(s["key"] for s in pw.signals(run_id) if s["topic"] == TYRE)
    assert PRESSURE in tyre and len(tyre) == 4
    keys = [*tyre, TORQUE]
    data = pw.series(run_id, keys)
    want = {key: units[key.split(":", 1)[1]] for key in keys}
    assert want[PRESSURE] == "mbar"
    assert {key: data[key].unit for key in keys} == want
    t, v, *_ = data[PRESSURE]  # the values still unpack first
    assert len(t) == len(v) > 0 and np.isfinite(v).all()
    frame = data.to_pandas()
    assert frame.attrs["units"] == {k: u for k, u in want.items() if u is not None}
    assert frame.attrs["units"][PRESSURE] == "mbar" and TORQUE not in frame.attrs["units"]
    # The signal list says the same, for the same signals.
    listed = {s["key"]: s.get("unit") for s in pw.signals(run_id) if s["key"] in want}
    assert listed == want


def test_load_gives_units_by_field_and_by_column(pw: Client, run_id: str, units: dict[str, str | None]) -> None:
    tyre = pw.load(run_id, [f"{TYRE}:*", TORQUE])
    fields = sorted(f for f in tyre[TYRE] if f != "t")
    assert len(fields) == 4
    want = {f: units[f] for f in fields if units[f] is not None}
    assert tyre[TYRE].units == want and want["LF_TTPMS_P"] == "mbar"
    assert tyre["mc1_torque_command_data"].units == {}
    frame = pw.load(run_id, PRESSURE, pandas=True)[TYRE]
    assert frame.attrs["units"] == {"LF_TTPMS_P": "mbar"}
    np.testing.assert_array_equal(frame["LF_TTPMS_P"].to_numpy(), tyre[TYRE]["LF_TTPMS_P"])


def test_catalogue_search_finds_the_signal_with_its_unit(pw: Client, run_id: str) -> None:
    found = {s["key"]: s for s in pw.catalogue("LF_TTPMS_P")}
    assert found[PRESSURE]["unit"] == "mbar"
    assert all("LF_TTPMS_P" in key for key in found), sorted(found)


def test_state_names_travel_with_series_frames_and_loads(stack: Api, pw: Client, run_id: str) -> None:
    names = {"0": "HV_OFF", "1": "HV_ON"}
    with stack.client("editor") as c:
        require_ok(c.put(f"/api/v1/catalogue/signals/{HV}", json={"states": names}), 202)
    want = {int(code): name for code, name in names.items()}

    def named() -> Any:
        return pw.series(run_id, HV)[HV].states

    assert wait_for(named, "the edited state names on the series", 30) == want
    data = pw.series(run_id, [HV, PRESSURE])
    assert set(np.unique(data[HV].v)) <= set(want)  # the names cover the codes the car logged
    assert data.to_pandas().attrs["states"] == {HV: want}
    loaded = pw.load(run_id, HV)["mc4_setpoints_command_data"]
    assert loaded.states == {"hv_enable": want}
    frame = pw.load(run_id, HV, pandas=True)["mc4_setpoints_command_data"]
    assert frame.attrs["states"] == {"hv_enable": want}
