"""Download names of exports (pitwall.common.exportnames): runs, selections and windows
told apart, and every name safe as a file name and an S3 key."""

from __future__ import annotations

import pytest

from pitwall.common.exportnames import export_stem, run_label, selection_part, unique
from pitwall.common.storage import export_key

MARCH_26_1432 = 1_711_463_520_000_000_000  # 2024-03-26 14:32 UTC
SIGS = [("VNData", "vn_vel.x"), ("VNData", "vn_vel.y"), ("ACU_data", "pack_v"), ("BMS", "t"), ("BMS", "cells.v")]


def test_the_example_name() -> None:
    run = run_label(filename="log_0003.mcap", event_type="endurance", start_ns=MARCH_26_1432, fallback="ab12")
    assert export_stem(run, selection_part(SIGS, everything=False), 60, 90) + ".mat" == (
        "endurance_2024-03-26_1432_5sig_60-90s.mat"
    )


def test_without_an_event_type_the_file_names_the_run() -> None:
    label = run_label(filename="Endurance run 2.mcap", event_type=None, start_ns=MARCH_26_1432, fallback="ab12")
    assert label == "Endurance_run_2"
    assert run_label(filename=None, event_type=None, start_ns=None, fallback="ab12cd") == "ab12cd"


def test_different_windows_and_selections_get_different_names() -> None:
    vn = [s for s in SIGS if s[0] == "VNData"]
    names = {
        export_stem("r", selection_part(SIGS, everything=True), None, None),
        export_stem("r", selection_part(SIGS, everything=False), None, None),
        export_stem("r", selection_part(vn, everything=False), None, None),
        export_stem("r", selection_part(vn, everything=False), 0, 30),
        export_stem("r", selection_part(vn, everything=False), 30, None),
        export_stem("r", selection_part(vn, everything=False), 30.25, 60.5),
        export_stem("r", selection_part(vn, everything=False), 30.25, 60.5, resample_hz=100),
    }
    assert names == {
        "r_all", "r_5sig", "r_VNData_2sig", "r_VNData_2sig_0-30s", "r_VNData_2sig_30s-end",
        "r_VNData_2sig_30.25-60.5s", "r_VNData_2sig_30.25-60.5s_100Hz",
    }  # fmt: skip


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "a/b\\c: d*?.mcap", "  ", "..", "ünï cödé.mcap", "x" * 400])
def test_every_name_is_a_plain_file_name(hostile: str) -> None:
    run = run_label(filename=hostile, event_type=hostile, start_ns=MARCH_26_1432 if len(hostile) > 3 else None,
                    fallback="ab12")
    stem = export_stem(run, selection_part([(hostile, "x")], everything=False), 1, 2)
    assert "/" not in stem and "\\" not in stem and stem.strip(".") and len(stem) <= 200
    export_key("0" * 32, stem + ".mat")  # raises on anything but a plain name


def test_runs_in_one_zip_never_share_a_name() -> None:
    assert unique(["a", "b", "a", "a"]) == ["a", "b", "a_2", "a_3"]
