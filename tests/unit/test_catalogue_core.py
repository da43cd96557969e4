"""The catalogue core against the team's real CAN descriptions and MCAP files.

Expected values come from the .sym text itself (small regexes over its lines) or from the
MCAP's own channel records, never from the code under test.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from testsupport.symtext import sym_definition as _definition
from testsupport.symtext import sym_enum as _enum
from testsupport.symtext import sym_messages as _messages
from testsupport.symtext import sym_unit as _unit

from pitwall.common.catalogue import (
    CatalogueError,
    load_can_source,
    match,
    pick_source,
)
from pitwall.common.mcapread import open_source, scan_summary

HYTECH = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "hytech"
SYM_2024 = HYTECH / "hytech-2024-03-26.sym"
SYM_2026 = HYTECH / "hytech-2026-07-16.sym"
MCAP = HYTECH / "03_26_2024_23_10_23_RECOVERED_V2.mcap"

pytestmark = pytest.mark.skipif(not HYTECH.is_dir(), reason="../shared/data/hytech is absent")



def test_counts_match_the_text() -> None:
    msgs = _messages(SYM_2024)
    assert len(msgs) == 87 and sum(len(s) for s in msgs.values()) == 479  # the README's numbers
    for path in (SYM_2024, SYM_2026):
        src = load_can_source(path.read_bytes(), path.name)
        expected = _messages(path)
        assert src.format == "sym"
        assert src.message_count == len(expected)
        assert src.signal_count == sum(len(s) for s in expected.values())
        assert {m.name for m in src.messages} == set(expected)


def test_real_mcap_topic_gets_its_unit() -> None:
    info = scan_summary(open_source(str(MCAP)))
    topics = {c.topic: c.schema_name for c in info.channels}
    assert topics["lf_ttpms_1_data"] == "lf_ttpms_1"  # the MCAP's own schema name
    src = load_can_source(SYM_2024.read_bytes(), SYM_2024.name)
    key = "lf_ttpms_1_data:LF_TTPMS_P"
    entries = match(src, topics, [key, "lf_ttpms_1_data:NO_SUCH_FIELD", "other_topic:x"])
    assert set(entries) == {key}
    assert entries[key].unit == _unit(SYM_2024, "LF_TTPMS_P") == "mbar"
    assert entries[key].display_name is None
    assert entries[key].source.name == SYM_2024.name


def test_matching_rule() -> None:
    src = load_can_source(SYM_2024.read_bytes(), SYM_2024.name)
    want = _unit(SYM_2024, "LF_TTPMS_BAT_V")
    # By schema name (last component after . or /), any case, leaf name at any depth.
    got = match(
        src,
        {"tyres/front_left": "hytech.msgs/LF_TTPMS_1", "lf_ttpms_1": None},
        ["tyres/front_left:inner.lf_ttpms_bat_v", "lf_ttpms_1:LF_TTPMS_BAT_V"],
    )
    assert {k: e.unit for k, e in got.items()} == {
        "tyres/front_left:inner.lf_ttpms_bat_v": want,
        "lf_ttpms_1:LF_TTPMS_BAT_V": want,  # no `_data` suffix: the topic name itself
    }
    # A topic that is neither: no entry, even when a field name equals a signal name.
    assert match(src, {"tyres": "pkg.Tyres"}, ["tyres:LF_TTPMS_P"]) == {}


def test_enum_signal_has_its_state_names() -> None:
    src = load_can_source(SYM_2024.read_bytes(), SYM_2024.name)
    definition = _definition(SYM_2024, "ecu_state")
    enum_name = re.search(r"/e:(\w+)", definition)
    assert enum_name is not None
    expected = _enum(SYM_2024, enum_name.group(1))
    assert expected[5] == "READY_TO_DRIVE"
    entries = match(src, {"mcu_status_data": "mcu_status"}, ["mcu_status_data:ecu_state"])
    assert entries["mcu_status_data:ecu_state"].states == expected


def _unit_changes() -> tuple[str, str, str | None, str | None]:
    """(message, signal, unit 2024, unit 2026) of a signal whose unit differs, from the text."""
    old, new = _messages(SYM_2024), _messages(SYM_2026)
    for msg, sigs in sorted(old.items()):
        for sig in sigs:
            if sig in new.get(msg, []):
                try:
                    a, b = _unit(SYM_2024, sig), _unit(SYM_2026, sig)
                except AssertionError:
                    continue  # an inline `Var=` signal: no definition line
                if a != b and b is not None:
                    return msg, sig, a, b
    raise AssertionError("no signal changes its unit between the two versions")


def test_validity_picks_the_season() -> None:
    msg, sig, unit_2024, unit_2026 = _unit_changes()
    old = load_can_source(
        SYM_2024.read_bytes(), SYM_2024.name, valid_from=date(2024, 1, 1), version=1
    )
    new = load_can_source(
        SYM_2026.read_bytes(), SYM_2026.name, valid_from=date(2026, 7, 16), version=2
    )
    start = scan_summary(open_source(str(MCAP))).start_ns
    recorded = datetime.fromtimestamp(start / 1e9, tz=UTC)
    assert recorded.date() == date(2024, 3, 6)  # the file's name says 03_26; its log times do not
    key = f"{msg.lower()}_data:{sig}"
    for when, want_src, want_unit in (
        (recorded, old, unit_2024),
        (datetime(2026, 8, 1, tzinfo=UTC), new, unit_2026),
        (date(2026, 7, 16), new, unit_2026),  # valid from its first day
    ):
        picked = pick_source([old, new], when)
        assert picked is want_src
        assert match(picked, {}, [key])[key].unit == want_unit
    assert pick_source([old, new], date(2023, 12, 31)) is None
    # Undated counts as always valid and oldest; the 2024 source dated after the run does not apply.
    undated = load_can_source(SYM_2024.read_bytes(), "undated.sym")
    late_2024 = load_can_source(SYM_2024.read_bytes(), SYM_2024.name, valid_from=date(2024, 3, 26))
    assert pick_source([late_2024, undated, new], recorded) is undated
    assert pick_source([undated, new], datetime(2026, 8, 1, tzinfo=UTC)) is new


def test_same_date_later_upload_wins() -> None:
    day = date(2026, 7, 16)
    first = load_can_source(SYM_2024.read_bytes(), "a.sym", valid_from=day, version=3)
    second = load_can_source(SYM_2026.read_bytes(), "b.sym", valid_from=day, version=4)
    assert pick_source([second, first], date(2026, 9, 1)) is second
    # Same version (not yet stored): the later in the list is the later upload.
    a = load_can_source(SYM_2024.read_bytes(), "a.sym", valid_from=day)
    b = load_can_source(SYM_2024.read_bytes(), "b.sym", valid_from=day)
    assert pick_source([a, b], day) is b


def _broken() -> dict[str, tuple[bytes, str, bytes | None]]:
    """name -> (bytes, file name, a fragment of the line at fault, when a line is at fault)."""
    text = SYM_2024.read_bytes()
    lines = text.split(b"\r\n")
    at = next(i for i, ln in enumerate(lines) if b"/u:" in ln)
    head = b"\r\n".join(lines[:at]) + b"\r\n"
    inside = lines[at][: lines[at].index(b"/u:") + 3]  # `Sig=... /u:` with its unit cut off
    bad_type = text.replace(b"Sig=ecu_state unsigned 3", b"Sig=ecu_state unsigend 3")
    dbc = (  # `BO_ 100 MSG 8` lacks the colon after the message name
        b'VERSION ""\n\nNS_ :\n\nBU_: ECU\nBO_ 100 MSG 8 ECU\n'
        b' SG_ s : 0|8@1+ (1,0) [0|255] "" ECU\n'
    )
    return {
        "truncated.sym": (head + inside, "truncated.sym", inside),  # the file ends there
        "cut_line.sym": (
            head + inside + b"\r\n" + b"\r\n".join(lines[at + 1 :]), "cut_line.sym", inside
        ),
        "no_messages.sym": (text[: len(text) // 10], "no_messages.sym", None),  # cut at a line end
        "bad_type.sym": (bad_type, "bad_type.sym", b"Sig=ecu_state unsigend 3"),
        "syntax.dbc": (dbc, "syntax.dbc", b"BO_ 100 MSG 8 ECU"),
        "random.bin": (os.urandom(2048), "random.bin", None),
        "random.sym": (b"\x00\x01garbage" + os.urandom(512), "random.sym", None),
        "broken.kcd": (b"<NetworkDefinition><Bus name='x'>", "broken.kcd", b"<NetworkDefinition>"),
    }


# Named here, not from _broken(): collection must not read the files (they may be absent).
BROKEN = [
    "truncated.sym", "cut_line.sym", "no_messages.sym", "bad_type.sym",
    "syntax.dbc", "random.bin", "random.sym", "broken.kcd",
]


@pytest.mark.parametrize("case", BROKEN)
def test_bad_files_give_one_line_errors(case: str) -> None:
    cases = _broken()
    assert sorted(cases) == sorted(BROKEN)
    data, name, fragment = cases[case]
    with pytest.raises(CatalogueError) as info:
        load_can_source(data, name)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{name}: ")
    if fragment is not None:  # names the line at fault, and that line is the broken one
        number = re.search(r"\bline (\d+)", message)
        assert number is not None, message
        assert fragment in data.splitlines()[int(number.group(1)) - 1], message
