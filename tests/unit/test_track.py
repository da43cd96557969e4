"""Laps, distance and top speed derived from the GPS signals of a recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from pitwall.common.mcapread import read_recording
from pitwall.ingest.track import MAX_TRACK_POINTS, derive_track
from pitwall.synth import write_synth


def test_laps_match_the_line_crossings_the_car_drove(tmp_path: Path) -> None:
    summary = write_synth(tmp_path / "laps.mcap", minutes=4.0, seed=5)
    view = derive_track(read_recording(tmp_path / "laps.mcap"))
    assert view is not None
    crossings = summary.track.lap_crossings_s
    assert len(view.laps) == summary.track.lap_count == len(crossings)
    assert crossings, "the synth car crossed no line"
    # synth times are seconds since the first message, like ours
    for lap, crossing in zip(view.laps, crossings, strict=True):
        assert lap["end_s"] == pytest.approx(crossing, abs=0.1)
    flying = view.laps[1:]
    assert flying, "no flying lap"
    for lap in flying:
        assert lap["time_s"] == pytest.approx(summary.track.lap_time_s, abs=0.1)
        assert lap["distance_m"] == pytest.approx(summary.track.length_m, rel=0.02)
    assert len(view.points) <= MAX_TRACK_POINTS
    assert 10 < view.top_speed_mps < 40
