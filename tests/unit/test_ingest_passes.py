"""Ingest within a memory budget: a file read in passes over topic groups becomes the
same run (document, statistics, signal store) as the file read at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pitwall.common import signalstore
from pitwall.common.events import FileUploaded
from pitwall.ingest.digest import plan_passes
from pitwall.ingest.documents import run_document
from pitwall.ingest.ingestor import Rejected, digest_file
from pitwall.synth import write_synth

EVENT = FileUploaded(sha256="0" * 64, object_key="mcap/x.mcap", size=1, filename="x.mcap", source="cli")
EVERYTHING = 1 << 40
TIGHT = 1 << 20  # 1 MiB of columns per pass: a 20-second file needs several


def _ingest(path: Path, budget: int) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, bytes], int]:
    objects: dict[str, bytes] = {}
    digest = digest_file(str(path), objects.__setitem__, "run", budget)
    # One announcement for both reads: its id and receive time are part of the document.
    event = EVENT.model_copy(update={"size": path.stat().st_size, "filename": path.name})
    doc = run_document(digest, event)
    for key in ("ingested_at", "updated_at"):
        doc.pop(key)
    return doc, sorted(digest.stats, key=lambda s: s["key"]), objects, digest.passes


@pytest.fixture(scope="module", params=["chunked", "cut"])
def recording(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("passes") / f"{request.param}.mcap"
    write_synth(path, minutes=0.35, seed=11, truncate=request.param == "cut")
    return path


def test_a_tight_budget_reads_in_passes_and_makes_the_same_run(recording: Path) -> None:
    whole_doc, whole_stats, whole_store, one = _ingest(recording, EVERYTHING)
    doc, stats, store, passes = _ingest(recording, TIGHT)
    assert one == 1 and passes >= 3
    assert doc == whole_doc
    assert stats == whole_stats
    # The signal store: the same topics with the same columns, whatever the file names.
    a = signalstore.read_recording(whole_store.__getitem__, "run")
    b = signalstore.read_recording(store.__getitem__, "run")
    assert a.origin_ns == b.origin_ns and a.message_count == b.message_count and a.skipped == b.skipped
    assert set(a.topics) == set(b.topics)
    assert a.topics, "the run has no topic"
    for name, tc in a.topics.items():
        np.testing.assert_array_equal(tc.log_time_ns, b.topics[name].log_time_ns)
        assert list(tc.signals) == list(b.topics[name].signals)
        for path, sig in tc.signals.items():
            other = b.topics[name].signals[path].values
            if sig.values.dtype == object:
                assert sig.values.tolist() == other.tolist(), (name, path)
            else:
                np.testing.assert_array_equal(sig.values, other, err_msg=f"{name}:{path}")
    manifest = json.loads(store["run/manifest.json"])
    assert len({e["file"] for e in manifest["topics"]}) == len(manifest["topics"]) == len(a.topics)


def test_the_plan_keeps_every_topic_once_and_the_biggest_alone(recording: Path) -> None:
    from pitwall.common.mcapread import scan_summary

    plan = plan_passes(recording, TIGHT)
    topics = [c.topic for c in scan_summary(recording).channels]
    covered = [t for sel in plan for t in topics if sel is not None and sel.wants_topic(t)]
    assert sorted(covered) == sorted(topics)  # each topic in exactly one pass
    assert plan_passes(recording, EVERYTHING) == [None]


def test_a_big_file_that_is_not_mcap_is_rejected_with_a_reason(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(np.random.default_rng(1).bytes(2 << 20))
    with pytest.raises(Rejected, match="not an MCAP file"):
        digest_file(str(junk), {}.__setitem__, "run", TIGHT)
