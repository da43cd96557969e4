"""The reading core on synth recordings (the team's schemas) against the official decoder."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from mcapread_fixtures import assert_matches_official, assert_prefix_matches_official, official

from pitwall.common.mcapread import NotMcapError, read_recording
from pitwall.common.selection import Selection

synth = pytest.importorskip("pitwall.synth")

KINDS = {
    "zstd": {"chunked": True, "compression": "zstd"},
    "lz4": {"chunked": True, "compression": "lz4"},
    "none": {"chunked": True, "compression": "none"},
    "unchunked": {"chunked": False},
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, object]]:
    root = tmp_path_factory.mktemp("synth")
    out: dict[str, tuple[Path, object]] = {}
    for name, kw in KINDS.items():
        path = root / f"{name}.mcap"
        out[name] = (path, synth.write_synth(path, minutes=0.05, seed=7, **kw))
        cut = root / f"{name}-cut.mcap"
        out[f"{name}-cut"] = (
            cut,
            synth.write_synth(cut, minutes=0.05, seed=7, truncate=True, **kw),
        )
    return out


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_signal_of_every_topic_equals_the_official_decoder(files: dict, kind: str) -> None:
    path, summary = files[kind]
    rec = read_recording(path)
    ref = official(path.read_bytes())
    assert assert_matches_official(rec, ref) > 500
    assert rec.message_count == summary.message_count
    assert {t: tc.count for t, tc in rec.topics.items()} == summary.message_counts
    assert rec.origin_ns == summary.first_log_time_ns
    assert rec.metadata == summary.metadata
    assert summary.late_topic in rec.topics and rec.topics[summary.late_topic].count > 0
    assert not rec.truncated


@pytest.mark.parametrize("kind", list(KINDS))
def test_truncated_synth_keeps_every_complete_message(files: dict, kind: str) -> None:
    path, summary = files[f"{kind}-cut"]
    rec = read_recording(path)
    assert rec.truncated and rec.lost_tail_bytes > 0
    assert_prefix_matches_official(rec, official(path.read_bytes()))
    # Messages in the cut chunk's complete compression blocks come back too.
    assert rec.message_count >= summary.message_count
    assert summary.message_counts, "the synth wrote no channel"
    for topic, n in summary.message_counts.items():
        assert rec.topics[topic].count >= n


def test_selection_on_synth(files: dict) -> None:
    path, _summary = files["zstd"]
    full = read_recording(path)
    topic = next(t for t, tc in full.topics.items() if tc.count > 100 and len(tc.signals) > 2)
    leaf = next(iter(full.topics[topic].signals))
    sel = Selection(topics=f"^{topic}$", signals=(f"{topic}:{leaf}",), start_s=0.5, end_s=2.0)
    part = read_recording(path, sel)
    assert list(part.topics) == [topic]
    tc = part.topics[topic]
    assert list(tc.signals) == [leaf]
    t = full.topics[topic].log_time_ns
    mask = (t >= full.origin_ns + 500_000_000) & (t <= full.origin_ns + 2_000_000_000)
    assert tc.log_time_ns.tolist() == t[mask].tolist()
    assert (
        tc.signals[leaf].values.tolist() == full.topics[topic].signals[leaf].values[mask].tolist()
    )


def test_fuzz_damaged_synth_files(tmp_path: Path) -> None:
    """Damage of every kind on synth files of each kind: readable messages or a clear error."""
    from test_mcapread_damage import _check_shape, _mutate

    rng = random.Random(77)
    cases = 0
    for kind, kw in KINDS.items():
        path = tmp_path / f"{kind}.mcap"
        synth.write_synth(path, minutes=0.005, seed=8, **kw)
        base = path.read_bytes()
        for _ in range(40):
            _, data = _mutate(base, rng)
            try:
                rec = read_recording(data)
            except NotMcapError:
                continue
            finally:
                cases += 1
            _check_shape(rec)
    assert cases == 160
