"""The MATLAB/Octave toolbox (clients/matlab/+pitwall) in GNU Octave against the real stack.

`pitwall.load` of 5 signals of the team's real file must hold what `pitwall convert` of the
same file, selection and CAN description writes, value for value (units in signal_map too).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io as sio
from helpers.api import Api, require_ok
from helpers.with_ingest import start_api_with_ingest_and_converter, wait_for
from testsupport.symtext import sym_units

from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
TOOLBOX = REPO / "clients" / "matlab"
REAL = "03_26_2024_23_10_23_RECOVERED_V2.mcap"
SYM = "hytech-2024-03-26.sym"
FIVE = [
    "lf_ttpms_1_data:LF_TTPMS_P",
    "lr_ttpms_1_data:LR_TTPMS_BAT_V",
    "mc1_torque_command_data:torque_command",
    "mc4_setpoints_command_data:hv_enable",
    "mc4_setpoints_command_data:speed_setpoint_rpm",
]


def octave(script: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("octave-cli")
    if exe is None:
        pytest.fail("octave-cli is missing: make test installs it (scripts/ensure-octave.sh)")
    return subprocess.run(
        [exe, "--no-gui", "--quiet", "--eval", f"addpath('{TOOLBOX}'); {script}"],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    yield from start_api_with_ingest_and_converter(settings, service_env, endpoints,
                                                   tmp_path_factory.mktemp("matlab"), "matlab")


@pytest.fixture(scope="module")
def real_run(stack: Api, hytech_dir: Path) -> tuple[str, Path]:
    """The real file, uploaded after its CAN description was stored (as `convert --can` reads it)."""
    path = hytech_dir / REAL
    if not (hytech_dir / SYM).is_file():
        pytest.skip(f"{SYM} is not in {hytech_dir}")
    with stack.client("editor") as ed:
        source = require_ok(ed.post("/api/v1/catalogue/sources", data={"valid_from": "2024-01-01"},
                                    files={"file": (SYM, (hytech_dir / SYM).read_bytes())}), 202)

    def stored() -> bool:
        with stack.client("viewer") as c:
            return any(s["id"] == source["id"] for s in c.get("/api/v1/catalogue/sources").json()["items"])

    wait_for(stored, "the CAN description stored", 30)
    with stack.client("uploader") as up:
        run_id = require_ok(up.post("/api/v1/uploads", files={"file": (REAL, path.read_bytes())}), 202)["id"]

    def ready() -> bool:
        with stack.client("viewer") as c:
            return c.get(f"/api/v1/runs/{run_id}").json().get("status") in ("ready", "recovered")

    wait_for(ready, "the real run ingested", 60)
    return run_id, path


def convert(path: Path, out: Path, *extra: str) -> dict[str, Any]:
    args = ["convert", str(path), "-o", str(out), "--signals", ",".join(FIVE), "--can", str(path.with_name(SYM)),
            *extra]
    cmd = [sys.executable, "-m", "pitwall.cli.main", *args]
    exe = Path(sys.executable).with_name("pitwall")
    if exe.exists():
        cmd = [str(exe), *args]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return sio.loadmat(out, struct_as_record=False, squeeze_me=False)


def same(a: Any, b: Any, where: str) -> None:
    """Same MATLAB value: class, shape and every element (NaN equal to NaN)."""
    if hasattr(a, "_fieldnames"):
        assert hasattr(b, "_fieldnames") and list(a._fieldnames) == list(b._fieldnames), where
        for f in a._fieldnames:
            same(getattr(a, f), getattr(b, f), f"{where}.{f}")
        return
    assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), where
    assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
    if a.dtype == object:
        for i, (x, y) in enumerate(zip(a.flat, b.flat, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        np.testing.assert_array_equal(a, b, err_msg=where)


@pytest.mark.parametrize("window", [(), ("start", 2.0, "end", 6.5)], ids=["whole", "window"])
def test_load_equals_pitwall_convert_value_for_value(stack: Api, real_run: tuple[str, Path], tmp_path: Path,
                                                     window: tuple[Any, ...]) -> None:
    run_id, path = real_run
    cells = "{" + ",".join(f"'{k}'" for k in FIVE) + "}"
    opts = "".join(f", '{w}'" if isinstance(w, str) else f", {w!r}" for w in window)
    script = (
        f"pitwall.connect('{stack.base_url}', '{stack.tokens['viewer']}'); "
        f"S = pitwall.load('{run_id}', {cells}{opts}); "
        "save('-v7', 'got.mat', '-struct', 'S');"
    )
    done = octave(script, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "export done" in done.stdout, "progress is printed"
    got = sio.loadmat(tmp_path / "got.mat", struct_as_record=False, squeeze_me=False)
    extra = ["--start", str(window[1]), "--end", str(window[3])] if window else []
    want = convert(path, tmp_path / "want.mat", *extra)
    topics = sorted(k for k in want if not k.startswith("__") and k not in ("meta", "signal_map"))
    assert topics == sorted(k for k in got if not k.startswith("__") and k not in ("meta", "signal_map"))
    assert len(topics) == 4
    for name in topics:
        same(got[name][0, 0], want[name][0, 0], name)
    same(got["signal_map"], want["signal_map"], "signal_map")
    if window:
        t = got["mc1_torque_command_data"][0, 0].t
        assert t.min() >= 2.0 and t.max() <= 6.5


def test_find_laps_and_clear_errors(stack: Api, real_run: tuple[str, Path], tmp_path: Path) -> None:
    run_id, _ = real_run
    base, token = stack.base_url, stack.tokens["viewer"]
    script = (
        f"pitwall.connect('{base}', '{token}'); "
        "runs = pitwall.find('q', '03_26_2024'); "
        "printf('found=%d id=%s name=%s\\n', numel(runs), runs(1).id, runs(1).filename); "
        f"L = pitwall.laps('{run_id}'); printf('laps=%d\\n', numel(L)); "
        "try, pitwall.load('" + run_id + "', {'Nope:nothing'}); catch e, printf('load error: %s\\n', e.message); end; "
        f"try, pitwall.connect('{base}', 'pw_wrong'); catch e, printf('token error: %s\\n', e.message); end"
    )
    done = octave(script, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout
    assert f"found=1 id={run_id} name={REAL}" in out
    assert "laps=0" in out  # the real file has no GPS and no lap timer
    # The API's own reason reaches the MATLAB user: the glob that matches nothing, by name.
    assert "load error: pitwall: POST /api/v1/exports: HTTP 422: 'Nope:nothing' matches no signal of this run" in out
    assert "token error: pitwall: GET /api/v1/me: HTTP 401" in out


def test_units_and_state_names_reach_matlab(stack: Api, real_run: tuple[str, Path], tmp_path: Path) -> None:
    run_id, path = real_run
    units = sym_units(path.with_name(SYM))
    switch = "mc4_setpoints_command_data:inverter_enable"
    names = {"-1": "UNKNOWN", "0": "OFF", "1": "ON"}  # jsondecode names code -1 x_1: it must read back as -1
    with stack.client("editor") as ed:
        require_ok(ed.put(f"/api/v1/catalogue/signals/{switch}", json={"states": names}), 202)

    def edited() -> bool:
        with stack.client("viewer") as c:
            answer = require_ok(c.get(f"/api/v1/runs/{run_id}/series", params={"signals": switch}))
        return answer["signals"][0].get("states") == names

    wait_for(edited, "the edited state names", 30)
    cells = "{" + ",".join(f"'{k}'" for k in FIVE) + "}"
    script = (
        f"pitwall.connect('{stack.base_url}', '{stack.tokens['viewer']}'); names = {cells}; "
        f"S = pitwall.load('{run_id}', names); U = pitwall.units(S); "
        "for k = 1:numel(names), printf('unit %s=%s\\n', names{k}, pitwall.units(S, names{k})); end; "
        "printf('known=%d\\n', U.Count); "
        "printf('by mat path=%s\\n', pitwall.units(S, 'lf_ttpms_1_data.LF_TTPMS_P')); "
        f"X = pitwall.series('{run_id}', {{'{FIVE[0]}', '{switch}'}}, 'start', 2, 'end', 6.5); "
        "printf('series %s unit=%s n=%d sum=%.17g empty states=%d\\n', X(1).key, X(1).unit, numel(X(1).v), "
        "sum(X(1).v), isempty(X(1).states)); "
        "for k = 1:numel(X(2).states.codes), printf('state %d=%s\\n', X(2).states.codes(k), X(2).states.names{k}); end"
    )
    done = octave(script, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout
    for key in FIVE:
        assert f"unit {key}={units[key.split(':', 1)[1]] or ''}\n" in out
    assert "unit lf_ttpms_1_data:LF_TTPMS_P=mbar" in out
    assert f"known={sum(1 for key in FIVE if units[key.split(':', 1)[1]])}" in out
    assert "by mat path=mbar" in out
    # The window's values, from `pitwall convert` of the file: the API read them from the signal store.
    whole = convert(path, tmp_path / "whole.mat")["lf_ttpms_1_data"][0, 0]
    t, v = whole.t[:, 0], whole.LF_TTPMS_P[:, 0].astype(np.float64)
    inside = v[(t >= 2.0) & (t <= 6.5)]
    assert inside.size > 0
    assert f"series {FIVE[0]} unit=mbar n={inside.size} sum={inside.sum():.17g} empty states=1" in out
    assert [line for line in out.splitlines() if line.startswith("state ")] == [
        f"state {code}={name}" for code, name in sorted(names.items(), key=lambda kv: int(kv[0]))]
