"""The MATLAB name rule and its collision handling."""

from __future__ import annotations

import hashlib
import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pitwall.export.naming import allocate, matlab_name

VALID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


def test_valid_names_are_kept() -> None:
    assert matlab_name("VNData") == "VNData"
    assert matlab_name("MCUOutputData_data") == "MCUOutputData_data"
    assert matlab_name("a" * 63) == "a" * 63


def test_invalid_characters_become_underscores() -> None:
    assert matlab_name("vn.gps-lat") == "vn_gps_lat"
    assert matlab_name("imu data") == "imu_data"
    assert matlab_name("temp°C") == "temp_C"  # one character, one underscore


def test_names_not_starting_with_a_letter_get_x() -> None:
    assert matlab_name("1st_lap") == "x1st_lap"
    assert matlab_name("_private") == "x_private"
    assert matlab_name("/imu/data") == "x_imu_data"
    assert matlab_name("é") == "x_"
    assert matlab_name("") == "x"


def test_matlab_keywords_are_not_field_names() -> None:
    assert matlab_name("end") == "xend"
    assert matlab_name("function") == "xfunction"
    assert matlab_name("ending") == "ending"


def test_long_names_are_cut_with_a_hash_of_the_full_name() -> None:
    name = "battery_management_system_cell_voltage_measurement_" + "x" * 20
    out = matlab_name(name)
    assert len(out) == 63
    assert out == name[:54] + "_" + hashlib.sha1(name.encode()).hexdigest()[:8]
    # two long names sharing their first 54 characters stay apart
    assert matlab_name(name + "1") != matlab_name(name + "2")
    # the hash is of the original name, before characters were replaced
    dotted = "a." + "b" * 70
    assert matlab_name(dotted)[-8:] == hashlib.sha1(dotted.encode()).hexdigest()[:8]


def test_collisions_get_numbered_and_valid_sources_keep_their_name() -> None:
    assert allocate(["a.b", "a_b"]) == ["a_b_2", "a_b"]
    assert allocate(["a_b", "a.b"]) == ["a_b", "a_b_2"]
    # changed names are handed out in sorted order of the source: ' ' < '-' < '.'
    assert allocate(["a-b", "a.b", "a b"]) == ["a_b_2", "a_b_3", "a_b"]


def test_reserved_names_are_avoided() -> None:
    assert allocate(["meta", "signal_map", "VNData"], reserved=("signal_map", "meta")) == [
        "meta_2",
        "signal_map_2",
        "VNData",
    ]
    assert allocate(["t", "speed"], reserved=("t",)) == ["t_2", "speed"]


def test_a_suffix_keeps_a_long_name_within_63_characters() -> None:
    base = "c" * 63
    out = allocate([base, base])
    assert out[0] == base
    assert out[1] == "c" * 61 + "_2"


def test_duplicate_sources_are_told_apart() -> None:
    # a JSON path can be both a leaf and a branch: the first keeps the name
    assert allocate(["gps", "gps"]) == ["gps", "gps_2"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=80), min_size=0, max_size=12), st.randoms())
def test_allocation_is_valid_unique_and_order_independent(
    names: list[str], rnd: random.Random
) -> None:
    out = allocate(names, reserved=("meta",))
    assert len(out) == len(names)
    assert all(VALID.match(n) for n in out)
    assert len(set(out)) == len(out)
    assert "meta" not in out
    # the same set of distinct names in another order gets the same mapping
    distinct = list(dict.fromkeys(names))
    shuffled = distinct[:]
    rnd.shuffle(shuffled)
    a = dict(zip(distinct, allocate(distinct), strict=True))
    b = dict(zip(shuffled, allocate(shuffled), strict=True))
    assert a == b
