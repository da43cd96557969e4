"""`pitwall convert` as a user runs it: a subprocess, its exit code, its output lines."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from export_support import load_v5

T0 = 1_700_000_000_000_000_000


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pitwall.cli.main", "convert", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pitwall convert: error: "), proc.stderr
    return lines[0]


def _reader_available() -> bool:
    try:
        from pitwall.common.mcapread import read_recording  # noqa: F401
    except ImportError:
        return False
    return True


needs_reader = pytest.mark.skipif(
    not _reader_available(), reason="the MCAP reader is not built yet"
)


def tiny_mcap(path: Path, n: int = 100) -> Path:
    from mcap.writer import Writer

    schema = {
        "type": "object",
        "properties": {
            "v": {"type": "number"},
            "ok": {"type": "boolean"},
            "gps": {"type": "object", "properties": {"lat": {"type": "number"}}},
        },
    }
    with open(path, "wb") as f:
        w = Writer(f)
        w.start()
        sid = w.register_schema(
            name="Speed", encoding="jsonschema", data=json.dumps(schema).encode()
        )
        cid = w.register_channel(topic="speed", message_encoding="json", schema_id=sid)
        for i in range(n):
            msg = {"v": i * 0.5, "ok": i % 2 == 0, "gps": {"lat": 42.0 + i}}
            t = T0 + i * 10_000_000
            w.add_message(cid, log_time=t, publish_time=t, data=json.dumps(msg).encode())
        w.finish()
    return path


def test_missing_input_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path / "nope.mcap", "-o", tmp_path / "x.mat"))
    assert "no such file" in line


def test_unknown_output_suffix_is_a_usage_error(tmp_path: Path) -> None:
    src = tmp_path / "in.mcap"
    src.write_bytes(b"x")
    proc = run(src, "-o", tmp_path / "x.txt")
    assert proc.returncode == 2
    assert "--format" in one_line_error(proc)


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    src = tmp_path / "in.mcap"
    src.write_bytes(b"x")
    for args in (
        ["--interp", "cubic"],
        ["--layout", "rows"],
        ["--resample", "-1"],
        ["--topics", "("],
    ):
        proc = run(src, "-o", tmp_path / "x.mat", *args)
        assert proc.returncode == 2, args
        one_line_error(proc)
    proc = run(src, "-o", tmp_path / "x.mat", "--start", "5", "--end", "1")
    assert proc.returncode == 2 and "after" in one_line_error(proc)


def test_a_file_that_is_not_mcap_is_one_line_and_no_output(tmp_path: Path) -> None:
    src = tmp_path / "notes.mcap"
    src.write_text("just some text, not a recording\n" * 100)
    one_line_error(run(src, "-o", tmp_path / "x.mat"))
    assert not (tmp_path / "x.mat").exists()


@needs_reader
def test_converts_a_small_file_and_prints_a_summary(tmp_path: Path) -> None:
    src = tiny_mcap(tmp_path / "run.mcap")
    out = tmp_path / "run.mat"
    proc = run(src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    summary = proc.stdout.strip().splitlines()
    assert len(summary) == 1 and "100 messages" in summary[0] and "MAT v5" in summary[0]
    got = load_v5(out)
    assert got["speed"]["gps"]["lat"][:, 0].tolist() == [42.0 + i for i in range(100)]
    assert got["speed"]["t"][-1, 0] == pytest.approx(0.99, abs=1e-12)
    # Hashed on a thread started before the imports, from a path spelled differently.
    assert got["meta"]["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    again = run(Path("..") / src.parent.name / src.name, "-o", out, cwd=src.parent)
    assert again.returncode == 0, again.stderr
    assert load_v5(out)["meta"]["source_sha256"] == got["meta"]["source_sha256"]


@needs_reader
def test_a_selection_that_matches_nothing_is_an_error_not_an_empty_file(tmp_path: Path) -> None:
    src = tiny_mcap(tmp_path / "run.mcap")
    out = tmp_path / "run.mat"
    proc = run(src, "-o", out, "--signals", "speed:gps.latt")  # a typo
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "matches no signal" in line and "pitwall info" in line
    assert not out.exists()


@needs_reader
def test_resampled_csv_from_the_command_line(tmp_path: Path) -> None:
    src = tiny_mcap(tmp_path / "run.mcap")
    out = tmp_path / "run.csv"
    proc = run(src, "-o", out, "--resample", "10", "--interp", "linear", "--signals", "speed:v")
    assert proc.returncode == 0, proc.stderr
    header = out.read_text().splitlines()[0]
    assert header == '"t","speed:v"'


def test_start_up_stays_light(tmp_path: Path) -> None:
    """The CLI module imports nothing heavy; a MAT v5 export never loads h5py/pyarrow/scipy."""
    code = (
        "import sys\n"
        "import pitwall.cli.convert\n"
        "heavy = {'numpy', 'h5py', 'pyarrow', 'scipy'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "from pathlib import Path\n"
        "import numpy as np\n"
        "from pitwall.common.columns import Recording, Signal, TopicColumns\n"
        "from pitwall.export.recording import ExportParams, export_recording\n"
        "s = np.empty(2, dtype=object); s[:] = ['a', 'b']\n"
        "tc = TopicColumns('A', 'A', 'protobuf', np.array([5, 6]),\n"
        "    {'x': Signal('x', 'double', np.zeros(2)), 's': Signal('s', 'string', s)})\n"
        "export_recording(Recording({'A': tc}, origin_ns=5), Path(sys.argv[1]), ExportParams(),\n"
        "                 source_name='r', source_sha256=None)\n"
        "heavy = {'h5py', 'pyarrow', 'scipy'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "x.mat")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "x.mat").stat().st_size > 128


# -- issue 21.8: a convert says what it wrote, and refuses what would write nothing --------


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pitwall.synth import write_synth

    return write_synth(tmp_path_factory.mktemp("cli-synth") / "run.mcap", minutes=0.1, seed=8).path


@needs_reader
def test_csv_of_several_topics_says_it_writes_a_zip_and_names_it(synth_run: Path, tmp_path: Path) -> None:
    import zipfile

    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "laps.csv"
    proc = run(synth_run, "-o", out, "--topics", "^(VNData|ACU_data)$")
    assert proc.returncode == 0, proc.stderr
    zipped = tmp_path / "out" / "laps.zip"
    assert f"wrote the zip {zipped}" in proc.stderr and "2 topics" in proc.stderr
    assert not out.exists()
    assert sorted(zipfile.ZipFile(zipped).namelist()) == ["ACU_data.csv", "VNData.csv", "meta.json", "signals.csv"]
    # One topic fits the one CSV asked for: no zip, nothing to warn about.
    single = tmp_path / "vn.csv"
    proc = run(synth_run, "-o", single, "--topics", "^VNData$")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert single.read_text().splitlines()[0].startswith('"t","log_time_ns","vn_vel.x"')
    assert not single.with_suffix(".zip").exists()


@needs_reader
def test_exit_codes_say_whose_fault_it_is(synth_run: Path, tmp_path: Path) -> None:
    # 2: the request (here a missing input); 1: a file that cannot be converted.
    missing = run(tmp_path / "nope.mcap", "-o", tmp_path / "x.mat")
    assert missing.returncode == 2 and "no such file" in one_line_error(missing)
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"not a recording" * 50)
    unreadable = run(junk, "-o", tmp_path / "x.mat")
    assert unreadable.returncode == 1 and "not an MCAP file" in one_line_error(unreadable)
    assert run(synth_run, "-o", tmp_path / "x.mat").returncode == 0


@needs_reader
def test_a_glob_that_matches_nothing_is_named(synth_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.mat"
    proc = run(synth_run, "-o", out, "--signals", "VNData:vn_vel.*,Foo:*")
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "'Foo:*' matches no signal of run.mcap" in line and "vn_vel" not in line
    assert not out.exists()


@needs_reader
def test_start_past_the_end_of_the_file_is_one_line(synth_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "late.mat"
    proc = run(synth_run, "-o", out, "--start", "1000")
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "--start 1000 is past the end of run.mcap (6.0 s long)" in line
    assert not out.exists()


@needs_reader
def test_output_into_a_missing_folder_creates_nothing(synth_run: Path, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    for out in (tmp_path / "no" / "such" / "run.mat", tmp_path / "gone" / "run.parquet"):
        proc = run(synth_run, "-o", out)
        assert proc.returncode == 2
        assert f"{out.parent}: no such folder" in one_line_error(proc)
    assert sorted(tmp_path.rglob("*")) == before
