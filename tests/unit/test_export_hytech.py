"""The team's real files, read and exported end to end: every signal lands exactly."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from export_support import at_mat_path, load_v5, load_v73, rows_of

from pitwall.export.recording import ExportParams, export_recording

HYTECH = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "hytech"
FILES = sorted(HYTECH.glob("*.mcap")) if HYTECH.is_dir() else []

pytestmark = [
    pytest.mark.hytech,
    pytest.mark.skipif(not FILES, reason="the team's files are not in ../shared/data/hytech"),
]


@pytest.mark.parametrize("fmt", ["mat", "mat73"])
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_real_file_exports_every_signal_exactly(path: Path, fmt: str, tmp_path: Path) -> None:
    mcapread = pytest.importorskip("pitwall.common.mcapread")
    rec = mcapread.read_recording(path)
    assert rec.message_count > 0
    out = tmp_path / "out.mat"
    result = export_recording(
        rec, out, ExportParams(format=fmt), source_name=path.name, source_sha256=None
    )
    got = load_v5(out) if result.format == "mat" else load_v73(out)
    rows = rows_of(got["signal_map"])
    widths = sum(
        s.width if s.repeated else 1 for tc in rec.topics.values() for s in tc.signals.values()
    )
    assert len(rows) == widths > 0
    for src, mat_path, *_ in rows:
        topic, field = src.rsplit(":", 1)
        m = re.fullmatch(r"(.*)\[(\d+)\]", field)
        sig = rec.topics[topic].signals[m[1] if m else field]
        expected = sig.values[:, int(m[2])] if m else sig.values
        actual = at_mat_path(got, mat_path)[:, 0]
        if sig.kind == "string":
            assert list(actual) == list(expected), src
            continue
        if sig.kind == "logical":
            actual = actual.astype(bool)
        assert actual.tobytes() == np.ascontiguousarray(expected).tobytes(), src
    assert got["meta"]["source_file"] == path.name
    assert bool(np.asarray(got["meta"]["truncated"]).reshape(-1)[0]) == rec.truncated
