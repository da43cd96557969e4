"""Selections (topics, signals, time window) and the indexed partial read."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from fnmatch import fnmatchcase

import numpy as np
import pytest
from mcapread_fixtures import Spec, write_fixture

from pitwall.common.columns import Recording
from pitwall.common.mcapread import read_recording
from pitwall.common.selection import Selection


def test_topic_regex_searches_and_can_be_anchored() -> None:
    sel = Selection(topics="VN")
    assert sel.wants_topic("VNData") and sel.wants_topic("my_VNStatus")
    exact = Selection(topics="^VNData$")
    assert exact.wants_topic("VNData") and not exact.wants_topic("VNData_2")
    assert Selection().wants_topic("anything")


def test_signal_globs() -> None:
    sel = Selection(signals=("VNData:vn_gps.*", "*:*temp*", "speed"))
    assert sel.wants_signal("VNData", "vn_gps.lat")
    assert not sel.wants_signal("VNData", "vn_imu.x")
    assert sel.wants_signal("BMS", "cells.max_temp")
    assert sel.wants_signal("Wheels", "speed")  # no colon: the path, in any topic
    assert not sel.wants_signal("Wheels", "speed.fl")
    assert Selection(topics="^BMS$", signals=("*",)).wants_signal("BMS", "x")
    assert not Selection(topics="^BMS$", signals=("*",)).wants_signal("VNData", "x")
    assert Selection.parse_signals(" a.*, ,*:b ") == ("a.*", "*:b")
    assert Selection(signals="only.one").signals == ("only.one",)  # type: ignore[arg-type]


def test_a_topic_no_glob_can_reach_is_ruled_out_before_its_fields_are_known() -> None:
    sel = Selection(signals=("VNData:vn_gps.lat", "BMS*:cells.*"))
    assert sel.may_want_signals_of("VNData") and sel.may_want_signals_of("BMS_2")
    assert not sel.may_want_signals_of("IMUData")
    assert not sel.may_want_signals_of("VNDataX")  # the glob names VNData, exactly
    assert Selection(signals=("VNData:*", "speed")).may_want_signals_of("IMUData")  # no colon
    assert Selection(signals=("*:x",)).may_want_signals_of("anything")
    assert Selection(signals=("a:b:c",)).may_want_signals_of("a:b")  # topics may hold colons
    assert not Selection(topics="^VN", signals=("*",)).may_want_signals_of("IMUData")


def test_bad_selections_are_rejected() -> None:
    with pytest.raises(ValueError, match="regex"):
        Selection(topics="(")
    with pytest.raises(ValueError, match="before start"):
        Selection(start_s=5, end_s=1)


def test_window_is_relative_to_the_file_origin() -> None:
    assert Selection(start_s=1.5, end_s=2).window_ns(10**18) == (
        10**18 + 1_500_000_000,
        10**18 + 2 * 10**9,
    )
    assert Selection(end_s=2).window_ns(0) == (None, 2 * 10**9)


# ---------------------------------------------------------------------------------------

DATA = write_fixture(Spec(messages=4000, seed=21, chunk_size=4096))


class CountingSource:
    """A RangeSource that remembers how many bytes were asked for (like S3 GETs)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.read_bytes = 0

    def read(self, offset: int, length: int) -> bytes:
        self.read_bytes += length
        return self.data[offset : offset + length]


@pytest.fixture(scope="module")
def full() -> Recording:
    return read_recording(DATA)


def _expect(full: Recording, sel: Selection) -> dict[str, dict[str, np.ndarray]]:
    """What a selection must return, derived from the full read by plain numpy.

    From the selection's fields with re, fnmatch and arithmetic, as its documentation states
    the rules; not through Selection's own methods, the code under test.
    """
    assert full.origin_ns is not None
    lo = None if sel.start_s is None else full.origin_ns + round(sel.start_s * 1e9)
    hi = None if sel.end_s is None else full.origin_ns + round(sel.end_s * 1e9)

    def wanted(topic: str, path: str) -> bool:
        if not sel.signals:
            return True
        # "topic:path" globs match both; a glob without a colon matches the path in any topic.
        return any(fnmatchcase(f"{topic}:{path}" if ":" in g else path, g) for g in sel.signals)

    out: dict[str, dict[str, np.ndarray]] = {}
    for topic, tc in full.topics.items():
        if sel.topics is not None and re.search(sel.topics, topic) is None:
            continue
        mask = np.ones(tc.count, dtype=bool)
        if lo is not None:
            mask &= tc.log_time_ns >= lo
        if hi is not None:
            mask &= tc.log_time_ns <= hi
        sigs = {p: s.values[mask] for p, s in tc.signals.items() if wanted(topic, p)}
        if sigs:
            sigs["__t"] = tc.log_time_ns[mask]
            out[topic] = sigs
    return out


def _assert_same(rec: Recording, expect: dict[str, dict[str, np.ndarray]]) -> None:
    assert expect, "the selection selects nothing: the comparison below would prove nothing"
    assert set(rec.topics) == set(expect)
    for topic, sigs in expect.items():
        tc = rec.topics[topic]
        np.testing.assert_array_equal(tc.log_time_ns, sigs["__t"])
        assert set(tc.signals) == set(sigs) - {"__t"}
        for path, values in sigs.items():
            if path == "__t":
                continue
            got = tc.signals[path].values
            if values.dtype == object:
                assert list(got) == list(values), path
            else:
                # Repeated fields may be narrower in a window (K = longest row in it).
                k = got.shape[1] if got.ndim == 2 else None
                want = values[:, :k] if k is not None else values
                np.testing.assert_array_equal(
                    got.view(np.uint8), np.ascontiguousarray(want).view(np.uint8)
                )


SELECTIONS = [
    Selection(start_s=1.0, end_s=1.5),
    Selection(start_s=3.0),
    Selection(end_s=0.25),
    Selection(topics="^legacy$"),
    Selection(topics="mouse|legacy", start_s=2, end_s=4),
    Selection(signals=("vehicle/telemetry:gps.*", "*:a", "mouse:clientX")),
    Selection(signals=("*:*.x",), start_s=0.5, end_s=1),
    Selection(signals=("vehicle/telemetry:gps.lat",)),  # the JSON topic is never parsed
]


@pytest.mark.parametrize("sel", SELECTIONS, ids=repr)
def test_selected_read_equals_the_full_read_filtered(full: Recording, sel: Selection) -> None:
    _assert_same(read_recording(DATA, sel), _expect(full, sel))


def test_a_short_window_reads_a_fraction_of_an_indexed_file(full: Recording) -> None:
    sel = Selection(start_s=1.0, end_s=1.5)
    src = CountingSource(DATA)
    rec = read_recording(src, sel)  # type: ignore[arg-type]
    assert src.read_bytes < 0.3 * len(DATA)
    assert rec.origin_ns == full.origin_ns  # taken from the (checked) summary
    assert rec.metadata == full.metadata
    _assert_same(rec, _expect(full, sel))


def _patch_summary(data: bytes, patch: Callable[[int, bytearray], None]) -> bytes:
    """Edit summary records in place (same lengths) and fix the summary CRC."""
    out = bytearray(data)
    footer = len(out) - 8 - 29
    summary_start = struct.unpack_from("<Q", out, footer + 9)[0]
    pos = summary_start
    while pos < footer:
        op = out[pos]
        (length,) = struct.unpack_from("<Q", out, pos + 1)
        body = bytearray(out[pos + 9 : pos + 9 + length])
        patch(op, body)
        out[pos + 9 : pos + 9 + length] = body
        pos += 9 + length
    crc = zlib.crc32(bytes(out[summary_start : footer + 25]))
    struct.pack_into("<I", out, footer + 25, crc)
    return bytes(out)


def _earlier_chunk_times(op: int, body: bytearray) -> None:
    if op == 0x08:  # chunk index: claim every chunk ends where it starts
        (start,) = struct.unpack_from("<Q", body, 0)
        struct.pack_into("<Q", body, 8, start)


def _no_channel_counts(op: int, body: bytearray) -> None:
    if op == 0x0B:  # statistics: channel_count = 0 (channels listed anyway)
        struct.pack_into("<I", body, 10, 0)


@pytest.mark.parametrize("patch", [_earlier_chunk_times, _no_channel_counts])
def test_a_lying_summary_falls_back_to_the_data_section(
    full: Recording, patch: Callable[[int, bytearray], None]
) -> None:
    lying = _patch_summary(DATA, patch)
    sel = Selection(start_s=1.0, end_s=1.5)
    rec = read_recording(lying, sel)
    _assert_same(rec, _expect(full, sel))
    if patch is _earlier_chunk_times:  # caught while reading chunks, and said so
        assert any(s.what == "summary" for s in rec.skipped)
    _assert_same(
        read_recording(lying, Selection(topics="legacy")), _expect(full, Selection(topics="legacy"))
    )


def test_a_summary_without_channels_is_not_trusted() -> None:
    data = write_fixture(Spec(messages=2000, seed=22, chunk_size=4096, summary=False))
    whole = read_recording(data)
    sel = Selection(start_s=0.5, end_s=1.0)
    _assert_same(read_recording(data, sel), _expect(whole, sel))
