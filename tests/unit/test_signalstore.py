"""The Parquet signal store gives back exactly what decoding the MCAP gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pitwall.common import signalstore
from pitwall.common.columns import Recording
from pitwall.common.mcapread import read_recording
from pitwall.common.selection import Selection
from pitwall.synth import write_synth


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "run.mcap"
    write_synth(path, minutes=0.3, seed=4242)
    return path


def _assert_same(a: Recording, b: Recording) -> None:
    assert a.origin_ns == b.origin_ns
    assert list(a.topics) == list(b.topics)
    assert a.topics, "nothing to compare: no topic"
    for name, ta in a.topics.items():
        tb = b.topics[name]
        assert np.array_equal(ta.log_time_ns, tb.log_time_ns), name
        assert list(ta.signals) == list(tb.signals), name
        for path, sa in ta.signals.items():
            sb = tb.signals[path]
            assert (sa.kind, sa.repeated, sa.enum_names) == (sb.kind, sb.repeated, sb.enum_names), f"{name}:{path}"
            assert sa.values.dtype == sb.values.dtype, f"{name}:{path}"
            if sa.values.dtype.kind == "f":
                # bit for bit, NaN padding included
                assert np.array_equal(sa.values.view(f"u{sa.values.itemsize}"),
                                      sb.values.view(f"u{sb.values.itemsize}")), f"{name}:{path}"
            else:
                assert np.array_equal(sa.values, sb.values), f"{name}:{path}"


@pytest.mark.parametrize(
    "selection",
    [
        Selection(),
        Selection(signals=("VNData:vn_gps.*", "ACU_data:*", "*:*temp*")),
        Selection(topics="^VNData$", start_s=5.0, end_s=9.5),
    ],
    ids=["everything", "globs", "topic+window"],
)
def test_store_round_trip_equals_mcap_decode(synth_file: Path, selection: Selection) -> None:
    objects: dict[str, bytes] = {}
    full = read_recording(synth_file)
    signalstore.write_recording(full, objects.__setitem__, "run")
    from_store = signalstore.read_recording(objects.__getitem__, "run", selection)
    from_mcap = read_recording(synth_file, selection)
    _assert_same(from_store, from_mcap)
    assert from_store.metadata == full.metadata
