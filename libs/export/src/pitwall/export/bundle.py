"""One download from the files of several runs' exports (the converter's result object).

Each run's export is written into one folder first; the download is then that one file
when it already is what was asked for (one run to MAT, say), else a zip of them all.
The zip's members have fixed dates and modes (`tabular.zip_entry`), so the same exports
make the same bytes.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from pitwall.export.tabular import zip_entry

_COPY_CHUNK = 1 << 20


def _members(output: Path, runs_dir: Path, single_run: bool) -> list[tuple[Path, str]]:
    """(file, name in the zip) for one run's output: a folder (Parquet per topic) under its
    own name, a file under its name (relative to `runs_dir` when there are several runs)."""
    if output.is_dir():
        files = sorted(output.rglob("*"))
        return [(f, f"{output.name}/{f.relative_to(output)}") for f in files if f.is_file()]
    return [(output, output.name if single_run else output.relative_to(runs_dir).as_posix())]


def bundle(outputs: list[Path], final: Path, runs_dir: Path, *, single_run: bool) -> None:
    """Make `final` from the runs' `outputs` (all under `runs_dir`): moved when it is the
    one file and of `final`'s kind, else zipped (deflated, zip64 when a member needs it)."""
    if len(outputs) == 1 and outputs[0].is_file() and outputs[0].suffix == final.suffix:
        shutil.move(outputs[0], final)
        return
    with zipfile.ZipFile(final, "w", zipfile.ZIP_DEFLATED) as zf:
        for output in outputs:
            for f, name in _members(output, runs_dir, single_run):
                entry = zip_entry(name)
                entry.file_size = f.stat().st_size  # lets zipfile pick zip64 for big members
                with open(f, "rb") as src, zf.open(entry, "w") as dst:
                    shutil.copyfileobj(src, dst, _COPY_CHUNK)
