"""`pitwall info`: what a recording holds, under the names `pitwall convert` takes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from mcap.reader import make_reader

from pitwall.common.mcapread import read_recording, scan_summary
from pitwall.synth import write_synth

HYTECH = Path(__file__).resolve().parents[3] / "shared" / "data" / "hytech"


def pitwall(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pitwall.cli.main", *map(str, args)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("info") / "run.mcap"
    write_synth(path, minutes=0.1, seed=3)
    return path


def _official_counts(path: Path) -> Counter[str]:
    with open(path, "rb") as f:
        return Counter(channel.topic for _, channel, _ in make_reader(f).iter_messages())


def test_every_topic_with_its_message_count(synth: Path) -> None:
    proc = pitwall("info", synth)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    counts = _official_counts(synth)
    assert f"{sum(counts.values()):,} messages on {len(counts)} channels" in lines[0]
    assert "(indexed)" in lines[0]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == set(counts)
    assert counts, "the file has no channel"
    for topic, n in counts.items():
        assert rows[topic][2] == f"{n:,}", topic
    # IMUData runs at 400 Hz in the synth car.
    assert abs(float(rows["IMUData"][3]) - 400) < 5


def test_listed_signals_are_exactly_what_a_conversion_exports(synth: Path) -> None:
    info = scan_summary(synth, signals=True)
    listed = {f"{c.topic}:{s.path}": (s.kind, s.repeated) for c in info.channels for s in c.signals}
    rec = read_recording(synth)
    exported = {
        f"{t}:{p}": (sig.kind, sig.repeated) for t, tc in rec.topics.items() for p, sig in tc.signals.items()
    }
    assert listed == exported


def test_a_listed_name_selects_that_signal_in_convert(synth: Path, tmp_path: Path) -> None:
    from scipy.io import loadmat

    proc = pitwall("info", synth, "--signals", "--topics", "^ACU_data$")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(maxsplit=1) for line in proc.stdout.splitlines() if line.startswith("    ACU_data:")]
    repeated = next(name for name, kind in rows if kind == "N x K double")
    out = tmp_path / "one.mat"
    conv = pitwall("convert", synth, "-o", out, "--signals", repeated)
    assert conv.returncode == 0, conv.stderr
    m = loadmat(out, simplify_cells=True)
    field = repeated.split(":")[1].split(".")
    node = m["ACU_data"]
    for key in field:
        node = node[key]
    assert node.ndim == 2 and node.shape[1] > 1  # N x K, as listed


def test_json_output_carries_the_same_facts(synth: Path) -> None:
    proc = pitwall("info", synth, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    counts = _official_counts(synth)
    assert {c["topic"]: c["message_count"] for c in doc["channels"]} == dict(counts)
    vn = next(c for c in doc["channels"] if c["topic"] == "VNData")
    assert {"path": "vn_gps.lat", "kind": "double", "repeated": False} in vn["signals"]


def test_a_cut_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "cut.mcap"
    write_synth(path, minutes=0.1, seed=4, truncate=True)
    proc = pitwall("info", path)
    assert proc.returncode == 0, proc.stderr
    assert "no usable index: scanned" in proc.stdout.splitlines()[0]
    assert "cut off" in proc.stdout


@pytest.mark.skipif(not HYTECH.is_dir(), reason="the team's files are not here")
def test_the_teams_file_without_a_footer() -> None:
    proc = pitwall("info", HYTECH / "02_29_2024_19_30_56.mcap", "--signals")
    assert proc.returncode == 0, proc.stderr
    assert "204 messages" in proc.stdout.splitlines()[0]
    assert "no footer" in proc.stdout


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"definitely not an mcap file")
    for args, code in (((junk,), 1), ((tmp_path / "missing.mcap",), 2), ((junk, "--topics", "("), 2)):
        proc = pitwall("info", *args)
        assert proc.returncode == code, proc
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pitwall info: error: "), proc.stderr
        assert "Traceback" not in proc.stderr
