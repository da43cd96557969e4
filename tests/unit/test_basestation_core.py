"""The station's core on real files in real folders: journal, settle rule, verified copy."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pitwall.basestation.backoff import backoff_s
from pitwall.basestation.journal import Journal, StateError
from pitwall.basestation.offload import OffloadError, Spool, offload
from pitwall.basestation.settings import SourceConfig, StationSettings, load_station_settings
from pitwall.basestation.settle import SettleTracker
from pitwall.basestation.sources import DirectorySource, RemoteFile


def _synth(path: Path, seconds: float = 3.0, *extra: str) -> Path:
    subprocess.run([sys.executable, "-m", "pitwall.cli.main", "synth", str(path), "--minutes", str(seconds / 60),
                    *extra],
                   check=True, capture_output=True)
    return path


def test_journal_states_only_move_forward(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    e = j.record("car", "a.mcap", 100, 1, footer=True)
    assert e.state == "seen" and j.record("car", "a.mcap", 100, 1, footer=True).id == e.id
    j.advance(e.id, "copied", sha256="ab" * 32)
    with pytest.raises(StateError):
        j.advance(e.id, "seen")
    with pytest.raises(StateError):  # only a confirmed file may leave the car
        j.advance(e.id, "removed_from_car")
    j.advance(e.id, "uploaded")
    j.advance(e.id, "rejected", reason="not an MCAP file")
    with pytest.raises(StateError):  # a rejected file is never confirmed, never deleted
        j.advance(e.id, "confirmed")
    # A new size or mtime of the same path is a new row: the old one is kept.
    other = j.record("car", "a.mcap", 200, 2, footer=True)
    assert other.id != e.id and j.get(e.id).state == "rejected"
    # WAL: a second connection (the `status` command) reads while the daemon writes.
    assert Journal(tmp_path / "j.sqlite").counts() == {"rejected": 1, "seen": 1}
    mode = j.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_settle_leaves_a_growing_file_and_takes_a_still_one() -> None:
    t = SettleTracker(settle_s=10)
    grow = [RemoteFile("rec.mcap", 100, 1)]
    t.observe("car", grow, now=0)
    assert not t.is_finished("car", grow[0], has_footer=False, now=5)
    grow2 = [RemoteFile("rec.mcap", 200, 2)]
    t.observe("car", grow2, now=8)
    assert not t.is_finished("car", grow2[0], has_footer=False, now=17)  # only 9 s still
    assert t.is_finished("car", grow2[0], has_footer=False, now=18.5)  # footer-less, still for 10 s: taken
    done = RemoteFile("done.mcap", 300, 3)
    t.observe("car", [done], now=20)
    assert not t.is_finished("car", done, has_footer=True, now=20)  # one sighting is not enough
    assert t.is_finished("car", done, has_footer=True, now=21)  # footer and unchanged: taken at once


def test_backoff_is_capped_and_jittered() -> None:
    delays = [backoff_s(n, 1.0, 60.0) for n in range(12)]
    assert all(0.5 <= d <= 60 for d in delays)
    assert max(delays[8:]) <= 60 and min(delays[8:]) >= 30  # capped: between half and all of 60 s
    assert len({round(backoff_s(3, 1.0, 60.0), 6) for _ in range(20)}) > 1  # not in step


def _source(root: Path) -> DirectorySource:
    return DirectorySource(SourceConfig(id="usb", kind="directory", path=root))


def test_offload_copies_verified_once_per_content(tmp_path: Path) -> None:
    car = tmp_path / "car"
    car.mkdir()
    a = _synth(car / "a.mcap")
    (car / "copy-of-a.mcap").write_bytes(a.read_bytes())
    (car / "notes.txt").write_text("not a log")
    src = _source(car)
    spool = Spool(tmp_path / "spool")
    j = Journal(tmp_path / "j.sqlite")

    async def go() -> list[str]:
        files = sorted(await src.list(), key=lambda f: f.path)
        assert [f.path for f in files] == ["a.mcap", "copy-of-a.mcap"]
        shas = []
        for f in files:
            e = j.record("usb", f.path, f.size, f.mtime_ns, footer=True)
            seen: list[int] = []
            got = await offload(src, e, spool, 64 * 1024, seen.append)
            assert seen[-1] == f.size
            shas.append(got.sha256)
            assert got.already_had == (f.path == "copy-of-a.mcap")
        return shas

    shas = asyncio.run(go())
    want = hashlib.sha256(a.read_bytes()).hexdigest()
    assert shas == [want, want]
    assert sorted(p.name for p in spool.root.glob("*.mcap")) == [f"{want}.mcap"]  # never two copies
    assert list(spool.tmp.iterdir()) == []


def test_offload_resumes_a_half_copy_and_refuses_a_changed_file(tmp_path: Path) -> None:
    car = tmp_path / "car"
    car.mkdir()
    a = _synth(car / "a.mcap")
    data = a.read_bytes()
    spool = Spool(tmp_path / "spool")
    j = Journal(tmp_path / "j.sqlite")
    st = a.stat()
    e = j.record("usb", "a.mcap", st.st_size, st.st_mtime_ns, footer=True)
    # A power cut left half of it in the spool.
    spool.part(e.id).write_bytes(data[: len(data) // 2])
    read_from: list[int] = []

    class Counting(DirectorySource):
        async def read(self, path: str, offset: int, chunk: int):  # type: ignore[override]
            read_from.append(offset)
            async for b in super().read(path, offset, chunk):
                yield b

    got = asyncio.run(offload(Counting(SourceConfig(id="usb", kind="directory", path=car)), e, spool, 1 << 20))
    assert read_from == [len(data) // 2]  # only the missing half came off the car
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert spool.path(got.sha256).read_bytes() == data

    # The logger appends after the station decided on the version: not trusted, not kept.
    b = _synth(car / "b.mcap")
    st = b.stat()
    e2 = j.record("usb", "b.mcap", st.st_size, st.st_mtime_ns, footer=True)
    with open(b, "ab") as f:
        f.write(b"more")
    with pytest.raises(OffloadError) as info:
        asyncio.run(offload(_source(car), e2, spool, 1 << 20))
    assert info.value.changed
    assert not spool.part(e2.id).exists()


def test_offload_vanished_and_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    car = tmp_path / "car"
    car.mkdir()
    a = _synth(car / "a.mcap")
    st = a.stat()
    j = Journal(tmp_path / "j.sqlite")
    e = j.record("usb", "a.mcap", st.st_size, st.st_mtime_ns, footer=True)
    spool = Spool(tmp_path / "spool")
    if os.geteuid() != 0:  # root reads anything: permission denied cannot happen
        a.chmod(0)
        with pytest.raises(OffloadError, match="ermission denied"):
            asyncio.run(offload(_source(car), e, spool, 1 << 20))
        a.chmod(0o644)
    a.unlink()
    with pytest.raises(OffloadError, match="vanished"):
        asyncio.run(offload(_source(car), e, spool, 1 << 20))


def test_settings_from_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "station.toml"
    cfg.write_text(
        'station_id = "pit-a"\nsettle_s = 4\n[[sources]]\nid = "car"\nkind = "sftp"\nhost = "10.0.0.2"\n'
        'user = "hytech"\n[[sources]]\nid = "usb"\nkind = "directory"\npath = "/media/usb"\n'
    )
    monkeypatch.setenv("PITWALL_BASESTATION_SETTLE_S", "7")
    s = load_station_settings(cfg)
    assert s.station_id == "pit-a" and s.settle_s == 7  # the environment wins over the file
    assert [(c.id, c.kind) for c in s.all_sources()] == [("car", "sftp"), ("usb", "directory")]
    cfg.write_text('[[sources]]\nid = "car"\nkind = "sftp"\n')
    with pytest.raises(ValueError, match="needs `host`"):
        load_station_settings(cfg)
    cfg.write_text("station_id = ")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_station_settings(cfg)
    assert StationSettings(watch_dir=tmp_path).all_sources()[0].path == tmp_path
