"""`--resample HZ`: one uniform grid, zero-order hold or linear, values checked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from export_support import load_v5, strings

from pitwall.common.columns import Recording, Signal, TopicColumns
from pitwall.export.recording import ExportError, ExportParams, export_recording
from pitwall.export.resample import grid_ns, resample

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000  # ns per second


def known() -> Recording:
    """A: int32 at 0,1,2,3 s; B: double at 0.5,2.5,3.5 s (+ a string, an enum, a flag)."""
    a = TopicColumns(
        "A",
        "A",
        "protobuf",
        T0 + np.array([0, 1, 2, 3], dtype=np.int64) * S,
        {"x": Signal("x", "int32", np.array([10, 20, 30, 40], dtype=np.int32))},
    )
    b = TopicColumns(
        "B",
        "B",
        "protobuf",
        T0 + np.array([S // 2, 5 * S // 2, 7 * S // 2], dtype=np.int64),
        {
            "y": Signal("y", "double", np.array([1.0, 2.0, 3.0])),
            "s": Signal("s", "string", strings(["one", "two", "three"])),
            "mode": Signal(
                "mode", "enum", np.array([0, 5, 7], dtype=np.int32), enum_names={0: "a"}
            ),
            "on": Signal("on", "logical", np.array([True, False, True])),
            "v": Signal(
                "v", "double", np.array([[0.0, 10.0], [2.0, np.nan], [4.0, 30.0]]), repeated=True
            ),
        },
    )
    return Recording({"A": a, "B": b}, origin_ns=T0, message_count=7)


def test_hold_keeps_the_latest_sample_and_its_type() -> None:
    out, notes = resample(known(), 2.0, "hold")
    assert notes == []
    grid = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]  # the overlap [0.5, 3] at 2 Hz
    assert out.topics, "resampling left no topic"
    for tc in out.topics.values():
        assert ((tc.log_time_ns - T0) == np.array(grid) * S).all()
    x = out.topics["A"].signals["x"].values
    assert x.dtype == np.int32 and x.tolist() == [10, 20, 20, 30, 30, 40]
    b = out.topics["B"].signals
    assert b["y"].values.tolist() == [1.0, 1.0, 1.0, 1.0, 2.0, 2.0]
    assert b["s"].values.tolist() == ["one", "one", "one", "one", "two", "two"]
    assert b["mode"].values.dtype == np.int32 and b["mode"].kind == "enum"
    assert b["on"].values.dtype == np.bool_ and b["on"].values.tolist() == [True] * 4 + [False] * 2
    assert b["v"].values.shape == (6, 2) and np.isnan(b["v"].values[4:, 1]).all()


def test_linear_interpolates_numbers_to_double_and_holds_states() -> None:
    out, notes = resample(known(), 2.0, "linear")
    x = out.topics["A"].signals["x"]
    assert x.kind == "double" and x.values.dtype == np.float64
    assert x.values.tolist() == [15.0, 20.0, 25.0, 30.0, 35.0, 40.0]
    b = out.topics["B"].signals
    assert b["y"].values.tolist() == [1.0, 1.25, 1.5, 1.75, 2.0, 2.5]
    assert b["v"].values[:, 0].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
    assert np.isnan(b["v"].values[1:, 1]).all()  # NaN neighbours give NaN
    assert b["s"].values.tolist() == ["one", "one", "one", "one", "two", "two"]
    assert b["mode"].kind == "enum" and b["mode"].values.tolist() == [0, 0, 0, 0, 5, 5]
    assert any("held" in n for n in notes)


def test_window_anchors_the_grid_and_narrows_it() -> None:
    out, _ = resample(known(), 4.0, "hold", start_s=0.25, end_s=2.0)
    t = (out.topics["A"].log_time_ns - T0) / S
    # anchored at 0.25, but never before B's first sample at 0.5
    assert t.tolist() == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    out, _ = resample(known(), 3.0, "hold", start_s=0.0)
    t_ns = out.topics["A"].log_time_ns - T0
    assert t_ns.tolist() == [round(k * S / 3) for k in range(2, 10)]  # 0.667 .. 3.0


def test_samples_exactly_on_grid_points_are_taken_not_their_predecessors() -> None:
    n = 1000
    times = T0 + np.arange(n, dtype=np.int64) * 100_000_000  # every 0.1 s
    tc = TopicColumns(
        "A", "A", "protobuf", times, {"k": Signal("k", "int32", np.arange(n, dtype=np.int32))}
    )
    out, _ = resample(Recording({"A": tc}, origin_ns=T0), 10.0, "hold")
    assert (out.topics["A"].signals["k"].values == np.arange(n)).all()


def test_unsorted_log_times_are_ordered_first() -> None:
    times = T0 + np.array([2, 0, 1, 3], dtype=np.int64) * S
    tc = TopicColumns(
        "A", "A", "protobuf", times, {"x": Signal("x", "double", np.array([2.0, 0.0, 1.0, 3.0]))}
    )
    out, _ = resample(Recording({"A": tc}, origin_ns=T0), 1.0, "linear")
    assert out.topics["A"].signals["x"].values.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_topics_without_messages_are_left_out_and_noted() -> None:
    rec = known()
    rec.topics["E"] = TopicColumns(
        "E", "E", "protobuf", np.zeros(0, dtype=np.int64), {"z": Signal("z", "double", np.zeros(0))}
    )
    out, _ = resample(rec, 2.0)
    assert "E" not in out.topics and len(out.topics["A"].log_time_ns) == 6
    assert any(s.what == "E" and "no messages" in s.reason for s in out.skipped)


def test_topics_that_do_not_overlap_give_an_empty_grid_with_a_note() -> None:
    rec = known()
    rec.topics["A"].log_time_ns = rec.topics["A"].log_time_ns + 100 * S
    out, notes = resample(rec, 2.0)
    assert out.topics and all(tc.count == 0 for tc in out.topics.values())
    assert any("overlap" in n for n in notes)


def test_grid_points_are_integer_nanoseconds() -> None:
    g = grid_ns(0, S, 3.0, 0)
    assert g.tolist() == [0, 333_333_333, 666_666_667, 1_000_000_000]
    assert grid_ns(5, 4, 10.0, 0).size == 0


def test_absurd_rates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="points"):
        export_recording(
            known(),
            tmp_path / "x.mat",
            ExportParams(resample_hz=1e12),
            source_name="r",
            source_sha256=None,
        )
    with pytest.raises(ExportError, match="positive"):
        export_recording(
            known(),
            tmp_path / "x.mat",
            ExportParams(resample_hz=0.0),
            source_name="r",
            source_sha256=None,
        )


def test_resampled_mat_puts_every_topic_on_the_same_t(tmp_path: Path) -> None:
    path = tmp_path / "r.mat"
    params = ExportParams(resample_hz=2.0, interp="linear")
    export_recording(known(), path, params, source_name="r.mcap", source_sha256=None)
    got = load_v5(path)
    assert got["A"]["t"][:, 0].tolist() == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert got["B"]["t"].tobytes() == got["A"]["t"].tobytes()
    assert got["A"]["x"][:, 0].tolist() == [15.0, 20.0, 25.0, 30.0, 35.0, 40.0]
    assert got["meta"]["export"]["interp"] == "linear"
    assert float(got["meta"]["export"]["resample_hz"][0, 0]) == 2.0


SRC = {"source_name": "stretched.mcap", "source_sha256": None}


def _stretched(days: int) -> Recording:
    """Two topics whose overlap a damaged log time stretched to `days`: 3 samples each."""
    times = T0 + np.array([0, S, days * 86_400 * S], dtype=np.int64)
    sig = {f"v{i}": Signal(f"v{i}", "double", np.arange(3.0)) for i in range(20)}
    return Recording(
        {t: TopicColumns(t, t, "protobuf", times, dict(sig)) for t in ("A", "B")},
        origin_ns=T0, message_count=6,
    )


def test_a_grid_over_the_memory_budget_is_refused_before_it_is_allocated(tmp_path: Path) -> None:
    # 40 days at 100 Hz = 345.6 M points × 42 columns: ~130 GB, refused at once with advice
    with pytest.raises(ExportError, match=r"345,600,00\d points × 42 columns.*narrow the window"):
        export_recording(_stretched(40), tmp_path / "x.mat", ExportParams(resample_hz=100.0), **SRC)
    assert not (tmp_path / "x.mat").exists()
    # the same stretch with a window that fits is exported
    params = ExportParams(resample_hz=100.0, start_s=0.0, end_s=2.0)
    export_recording(_stretched(40), tmp_path / "y.mat", params, **SRC)
    assert (tmp_path / "y.mat").stat().st_size > 0


def test_the_budget_counts_every_column() -> None:
    # 1 day at 10 Hz = 864,001 points: within 4 GB for 42 columns, not within a 100 MB budget
    out, _ = resample(_stretched(1), 10.0)
    assert out.topics["A"].log_time_ns.size == 864_001
    with pytest.raises(ValueError, match=r"more than the 0\.1 GB"):
        resample(_stretched(1), 10.0, max_bytes=100_000_000)
