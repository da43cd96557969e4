"""The channel catalogue on the real stack (query_api, ingest, converter on MongoDB, RabbitMQ
and S3): the team's two real CAN descriptions, its two real MCAP files, and two small files
shaped like the car's logs of 2024 and 2026. Expected units and state names are read from the
.sym text (`testsupport.symtext`), never from pitwall."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import scipy.io
from helpers.api import Api, require_ok
from helpers.with_ingest import start_api_with_ingest_and_converter, wait_for
from testsupport.canmcap import write_can_mcap
from testsupport.symtext import HYTECH, SYM_2024, SYM_2026, sym_messages, sym_signal_enum, sym_unit

from pitwall.common.settings import Settings

pytestmark = [pytest.mark.stack, pytest.mark.skipif(not HYTECH.is_dir(), reason="../shared/data/hytech is absent")]

REAL = HYTECH / "03_26_2024_23_10_23_RECOVERED_V2.mcap"  # recorded 2024-03-06
CUT = HYTECH / "02_29_2024_19_30_56.mcap"
TTPMS = "lf_ttpms_1_data:LF_TTPMS_P"
ECU = "mcu_status_data:ecu_state"  # the 2024 car's state ...
VEHICLE = "car_states_data:vehicle_state"  # ... and the 2026 car's
VOLTS = "em_measurement_data:em_voltage"  # no unit in 2024, `Volts` in 2026
ECU_CODES = [0, 1, 2, 3, 5, 5, 5, 5, 5, 1]  # never 4 (WAITING_READY_TO_DRIVE_SOUND)
VEHICLE_CODES = [0, 1, 2, 3, 3, 3, 0]


def _ns(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1e9)


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    yield from start_api_with_ingest_and_converter(settings, service_env, endpoints,
                                                   tmp_path_factory.mktemp("catalogue-logs"), "catalogue")


def _upload(api: Api, path: Path) -> str:
    with api.client("uploader") as c, open(path, "rb") as fh:
        run_id: str = require_ok(c.post("/api/v1/uploads", files={"file": (path.name, fh)}), 202)["id"]
    with api.client("viewer") as c:
        wait_for(lambda: c.get(f"/api/v1/runs/{run_id}").status_code == 200, f"the run of {path.name}", timeout=120)
    return run_id


@pytest.fixture(scope="module")
def runs(stack: Api, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("catalogue-files")
    season24 = write_can_mcap(folder / "season24.mcap", _ns("2024-05-04T10:00:00"), {
        "mcu_status_data": ("mcu_status", {"ecu_state": ("int32", ECU_CODES),
                                           "distance_traveled_m": ("float", [float(i) for i in range(10)])}),
        "em_measurement_data": ("em_measurement", {"em_voltage": ("float", [500.0 - i for i in range(10)])}),
    })
    season26 = write_can_mcap(folder / "season26.mcap", _ns("2026-08-01T10:00:00"), {
        "car_states_data": ("car_states", {"vehicle_state": ("int32", VEHICLE_CODES)}),
        "em_measurement_data": ("em_measurement", {"em_voltage": ("float", [580.0 + i for i in range(7)])}),
    })
    return {"real": _upload(stack, REAL), "cut": _upload(stack, CUT),
            "s24": _upload(stack, season24), "s26": _upload(stack, season26)}


def _sources(api: Api) -> list[dict[str, Any]]:
    with api.client("viewer") as c:
        items: list[dict[str, Any]] = require_ok(c.get("/api/v1/catalogue/sources"))["items"]
        return items


def _load(api: Api, path: Path, valid_from: str | None, name: str | None = None,
          data: bytes | None = None) -> dict[str, Any]:
    before = len(_sources(api))
    form = {"valid_from": valid_from} if valid_from else {}
    with api.client("editor") as c:
        answer: dict[str, Any] = require_ok(c.post("/api/v1/catalogue/sources", data=form, files={
            "file": (name or path.name, data if data is not None else path.read_bytes())}), 202)
    wait_for(lambda: len(_sources(api)) > before, "the source to be stored")
    return answer


@pytest.fixture(scope="module")
def loaded(stack: Api, runs: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {"2024": _load(stack, SYM_2024, "2024-01-01"), "2026": _load(stack, SYM_2026, "2026-07-16")}


def _signals(api: Api, run_id: str) -> dict[str, dict[str, Any]]:
    with api.client("viewer") as c:
        tree = require_ok(c.get(f"/api/v1/runs/{run_id}/signals"))
    return {s["key"]: s for t in tree["topics"] for s in t["signals"]}


def _series(api: Api, run_id: str, *keys: str) -> list[dict[str, Any]]:
    with api.client("viewer") as c:
        found: list[dict[str, Any]] = require_ok(
            c.get(f"/api/v1/runs/{run_id}/series", params={"signals": ",".join(keys)}))["signals"]
        return found


def _found(api: Api, where: str) -> set[str]:
    with api.client("viewer") as c:
        return {r["id"] for r in require_ok(c.get("/api/v1/runs", params={"where": where, "limit": 100}))["items"]}


def test_a_file_cantools_cannot_read_is_refused_with_its_line_and_nothing_is_stored(
    stack: Api, runs: dict[str, str]
) -> None:
    text = SYM_2024.read_text(encoding="utf-8").replace("/e:ecu_stateE", "/e:ecu_stateTYPO")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "ecu_stateTYPO" in s)
    before = _sources(stack)
    with stack.client("editor") as c:
        r = c.post("/api/v1/catalogue/sources", files={"file": ("broken.sym", text.encode())})
        assert r.status_code == 422, r.text
        [error] = r.json()["detail"]
        assert error["loc"] == ["body", "file"] and "\n" not in error["msg"]
        assert "broken.sym" in error["msg"] and f"line {line}" in error["msg"]
        assert c.post("/api/v1/catalogue/sources", files={"file": ("empty.dbc", b"")}).status_code == 422
    with stack.client("viewer") as c:
        # Loading is an editor's: a viewer is refused.
        assert c.post("/api/v1/catalogue/sources", files={"file": ("x.sym", SYM_2024.read_bytes())}).status_code == 403
    assert _sources(stack) == before


def test_loading_counts_what_the_file_holds_and_which_run_keys_it_names(
    stack: Api, runs: dict[str, str], loaded: dict[str, dict[str, Any]]
) -> None:
    messages = sym_messages(SYM_2024)
    answer = loaded["2024"]
    assert (answer["messages"], answer["signals"]) == (len(messages), sum(len(s) for s in messages.values()))
    assert answer["format"] == "sym" and answer["valid_from"] == "2024-01-01"
    # The real file's 6 topics are the firmware's messages, by name: every field of
    # them is named, plus the small 2024 file's ecu_state, distance and em_voltage.
    real = _signals(stack, runs["real"])
    assert answer["matched"] >= len(real) + 3
    listed = {s["id"]: s for s in _sources(stack)}
    assert listed[answer["id"]]["version"] == 1 and listed[loaded["2026"]["id"]]["version"] == 2


def test_signals_show_the_unit_of_the_can_description(stack: Api, runs: dict[str, str], loaded: Any) -> None:
    for run in ("real", "cut"):  # the file cut before its footer too
        sig = _signals(stack, runs[run])[TTPMS]
        assert sig["unit"] == sym_unit(SYM_2024, "LF_TTPMS_P") == "mbar"
        assert sig["origins"]["unit"].startswith("can:hytech-2024-03-26.sym#")
    [series] = _series(stack, runs["real"], TTPMS)
    assert series["unit"] == "mbar"


def test_each_run_takes_the_description_valid_at_its_recording_start(
    stack: Api, runs: dict[str, str], loaded: Any
) -> None:
    # The real file is named 03_26 but was recorded on 2024-03-06: the 2024 source (valid
    # from 2024-01-01) applies, the 2026 one does not.
    assert datetime.fromtimestamp(_run(stack, runs["real"])["start_ns"] / 1e9, UTC).date().isoformat() == "2024-03-06"
    assert sym_unit(SYM_2024, "em_voltage") is None and sym_unit(SYM_2026, "em_voltage") == "Volts"
    assert _signals(stack, runs["s24"])[VOLTS]["unit"] is None
    assert _signals(stack, runs["s26"])[VOLTS]["unit"] == "Volts"
    # States likewise: READY_TO_DRIVE is code 5 in 2024, code 3 in 2026.
    s24 = _signals(stack, runs["s24"])[ECU]["states"]
    s26 = _signals(stack, runs["s26"])[VEHICLE]["states"]
    assert {int(k): v for k, v in s24.items()} == sym_signal_enum(SYM_2024, "ecu_state")
    assert {int(k): v for k, v in s26.items()} == sym_signal_enum(SYM_2026, "vehicle_state")


def _run(api: Api, run_id: str) -> dict[str, Any]:
    with api.client("viewer") as c:
        doc: dict[str, Any] = require_ok(c.get(f"/api/v1/runs/{run_id}"))
        return doc


def test_where_finds_a_run_by_state_name(stack: Api, runs: dict[str, str], loaded: Any) -> None:
    ready = [c for c, n in sym_signal_enum(SYM_2024, "ecu_state").items() if n == "READY_TO_DRIVE"]
    assert set(ready) & set(ECU_CODES)
    assert _found(stack, f'{ECU} == "READY_TO_DRIVE"') == {runs["s24"]}
    assert _found(stack, f'{ECU} == "ready_to_drive"') == {runs["s24"]}
    never = sorted(set(sym_signal_enum(SYM_2024, "ecu_state").values())
                   - {sym_signal_enum(SYM_2024, "ecu_state")[c] for c in ECU_CODES})
    assert never and _found(stack, f'{ECU} == "{never[0]}"') == set()
    with stack.client("viewer") as c:
        bad = c.get("/api/v1/runs", params={"where": f'{ECU} == READY_TO_DRIVE'})
        assert bad.status_code == 422 and "STATE" in bad.text


def test_an_edit_wins_over_the_source_and_is_audited(stack: Api, runs: dict[str, str], loaded: Any) -> None:
    key = sorted(k for k in _signals(stack, runs["real"]) if k.startswith("lf_ttpms_1_data:") and k != TTPMS)[0]
    with stack.client("editor") as c:
        require_ok(c.put(f"/api/v1/catalogue/signals/{key}",
                         json={"unit": "V", "display_name": "LF sensor battery", "description": "coin cell"}), 202)
        assert c.put(f"/api/v1/catalogue/signals/{key}", json={"states": {"x": "A"}}).status_code == 422
    sig = wait_for(lambda: (s := _signals(stack, runs["real"])[key]).get("display_name") and s, "the edit")
    assert (sig["unit"], sig["display_name"], sig["description"]) == ("V", "LF sensor battery", "coin cell")
    assert sig["origins"]["unit"] == "edit"
    with stack.client("viewer") as c:
        one = require_ok(c.get(f"/api/v1/catalogue/signals/{key}"))
        assert one["history"][-1]["actor"] == "test-editor" and one["history"][-1]["changes"]["unit"] == "V"
        found = require_ok(c.get("/api/v1/catalogue/signals", params={"q": "coin"}))["items"]
        assert [s["key"] for s in found] == [key]
        by_description = require_ok(c.get("/api/v1/catalogue/signals", params={"q": "ttpms_p"}))["items"]
        assert TTPMS in {s["key"] for s in by_description}


def test_a_rename_lets_one_name_fetch_the_signal_of_both_seasons(
    stack: Api, runs: dict[str, str], loaded: Any
) -> None:
    with stack.client("editor") as c:
        require_ok(c.put(f"/api/v1/catalogue/signals/{ECU}", json={"renamed_to": VEHICLE}), 202)
    with stack.client("viewer") as c:
        wait_for(lambda: require_ok(c.get("/api/v1/catalogue/renames"))["items"], "the rename")
    for run, codes, sym, signal in (("s24", ECU_CODES, SYM_2024, "ecu_state"),
                                    ("s26", VEHICLE_CODES, SYM_2026, "vehicle_state")):
        for asked in (ECU, VEHICLE):
            [s] = _series(stack, runs[run], asked)
            assert s["key"] == asked and s["v"] == codes
            assert {int(k): v for k, v in s["states"].items()} == sym_signal_enum(sym, signal)
    # Each run's own codes decide: READY_TO_DRIVE is 5 in one, 3 in the other.
    assert _found(stack, f'{VEHICLE} == "READY_TO_DRIVE"') == {runs["s24"], runs["s26"]}
    assert _found(stack, f"{ECU}.max >= 3") == {runs["s24"], runs["s26"]}
    # An export of both seasons by one name holds each run's signal.
    members = _members(_export(stack, {"runs": [runs["s24"], runs["s26"]], "signals": [VEHICLE], "format": "csv"}))
    listed = [r["key"] for name, data in members.items() if name.endswith("signals.csv")
              for r in csv.DictReader(io.StringIO(data.decode("utf-8")))]
    assert sorted(listed) == sorted([ECU, VEHICLE])


def test_same_date_sources_the_later_wins_and_the_answer_lists_what_it_changed(
    stack: Api, runs: dict[str, str], loaded: Any
) -> None:
    dbc = (
        b'VERSION ""\n\nBU_: CAR\n\n'
        b"BO_ 1 EM_MEASUREMENT: 8 CAR\n"
        b' SG_ em_voltage : 0|16@1+ (0.1,0) [0|1000] "kV" CAR\n'
        b' SG_ em_current : 16|16@1+ (0.1,0) [0|1000] "A" CAR\n'
    )
    answer = _load(stack, Path("override.dbc"), "2026-07-16", data=dbc)
    assert answer["format"] == "dbc" and (answer["messages"], answer["signals"]) == (1, 2)
    assert answer["changed_keys"] == [VOLTS]  # em_current is no key of any run
    wait_for(lambda: _signals(stack, runs["s26"])[VOLTS].get("unit") == "kV", "the later source to win")
    assert _signals(stack, runs["s24"])[VOLTS]["unit"] is None  # 2024's run keeps the 2024 source
    nothing = _load(stack, Path("nothing.dbc"), None,
                    data=b'VERSION ""\n\nBU_: X\n\nBO_ 7 NO_SUCH_TOPIC: 1 X\n SG_ a : 0|8@1+ (1,0) [0|1] "" X\n')
    assert nothing["matched"] == 0
    # Deleting the override brings the 2026 description back.
    with stack.client("editor") as c:
        require_ok(c.delete(f"/api/v1/catalogue/sources/{answer['id']}"), 202)
        assert c.delete(f"/api/v1/catalogue/sources/{'0' * 32}").status_code == 404
    wait_for(lambda: _signals(stack, runs["s26"])[VOLTS].get("unit") == "Volts", "the override to go")
    assert next(s for s in _sources(stack) if s["id"] == answer["id"])["deleted"] is True


def _export(api: Api, body: dict[str, Any]) -> bytes:
    with api.client("viewer") as c:
        job = require_ok(c.post("/api/v1/exports", json=body), 202)
        status = wait_for(lambda: (s := require_ok(c.get(job["status_url"])))["status"] in ("done", "failed") and s,
                          "the export", timeout=120)
        assert status["status"] == "done", status.get("reason")
        return c.get(status["file_url"]).raise_for_status().content


def _members(data: bytes) -> dict[str, bytes]:
    """The files of a zip, those of zips inside it too (an export of several runs holds one
    zip per run), by path."""
    out: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            inner = zf.read(name)
            if name.endswith(".zip"):
                out.update({f"{name}/{k}": v for k, v in _members(inner).items()})
            else:
                out[name] = inner
    return out


def test_mat_csv_and_parquet_exports_carry_the_unit(stack: Api, runs: dict[str, str], loaded: Any) -> None:
    unit = sym_unit(SYM_2024, "LF_TTPMS_P")
    body = {"runs": [runs["real"]], "signals": ["lf_ttpms_1_data:*"]}
    mat = scipy.io.loadmat(io.BytesIO(_export(stack, {**body, "format": "mat"})), squeeze_me=True)
    rows = [tuple(str(x) for x in row) for row in np.atleast_2d(mat["signal_map"])]
    assert [r[2] for r in rows if r[0] == TTPMS] == [unit]
    csv_zip = _members(_export(stack, {**body, "format": "csv"}))
    listing = list(csv.DictReader(io.StringIO(next(v for k, v in csv_zip.items() if k.endswith("signals.csv"))
                                              .decode("utf-8"))))
    assert [r["unit"] for r in listing if r["key"] == TTPMS] == [unit]
    parquet = _export(stack, {**body, "format": "parquet"})
    files = _members(parquet) if parquet[:2] == b"PK" else {"run.parquet": parquet}
    found = [(f.metadata or {}).get(b"unit") for name, data in files.items() if name.endswith(".parquet")
             for f in pq.read_schema(io.BytesIO(data)) if f.name == "LF_TTPMS_P"]
    assert found == [unit.encode()]
