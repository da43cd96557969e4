"""Results of a benchmark section: tables for people (stdout, markdown) and numbers (JSON)."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(["" if c is None else str(c) for c in cells])

    def markdown(self) -> str:
        lines = [f"#### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass
class Check:
    """A floor from the issues, checked against this run's numbers."""

    name: str
    measured: str
    floor: str
    ok: bool


@dataclass
class Section:
    name: str
    tables: list[Table] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    load: tuple[float, float] | None = None  # 1-minute load average at start and end

    def table(self, title: str, columns: list[str]) -> Table:
        t = Table(title, columns)
        self.tables.append(t)
        return t

    def check(self, name: str, measured: str, floor: str, ok: bool) -> None:
        self.checks.append(Check(name, measured, floor, ok))

    def markdown(self) -> str:
        parts = [f"### {self.name}"]
        if self.load is not None:
            # Other work on the machine skews every number: say how busy it was.
            parts.append(
                f"_{self.seconds:.0f} s; load average (1 min) {self.load[0]:.1f} at the start, "
                f"{self.load[1]:.1f} at the end, on {os.cpu_count()} CPUs_"
            )
        if self.error:
            parts.append(f"**section failed:** {self.error}")
        parts += [t.markdown() for t in self.tables]
        if self.checks:
            t = Table("floors", ["check", "measured", "floor", "met"])
            for c in self.checks:
                t.add(c.name, c.measured, c.floor, "yes" if c.ok else "**NO**")
            parts.append(t.markdown())
        return "\n\n".join(parts)


def machine() -> dict[str, Any]:
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def write(out_dir: Path, sections: list[Section], args: dict[str, Any], stem: str = "results") -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    doc = {"machine": info, "args": args, "sections": [asdict(s) for s in sections]}
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    md = [
        "## Benchmarks",
        "",
        f"`make bench` on {info['cpus']} CPUs, Python {info['python']}, {info['when']}"
        + (" (`--quick`: smaller inputs)" if args.get("quick") else "")
        + ". Whole-process wall times unless said otherwise.",
        "",
    ]
    md += [s.markdown() + "\n" for s in sections]
    md_path = out_dir / f"{stem}.md"
    md_path.write_text("\n".join(md))
    return json_path, md_path


# -- formatting -----------------------------------------------------------------------
def secs(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def ms(x: float | None) -> str:
    return "-" if x is None else (f"{x * 1e3:.0f}" if x >= 0.1 else f"{x * 1e3:.1f}")


def rate(x: float | None) -> str:
    """Messages per second, k / M."""
    if x is None:
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.0f} k"
    return f"{x:.0f}"


def ratio(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.0f}×" if x >= 10 else f"{x:.1f}×" if x >= 1 else f"{x:.2f}×"


def mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e6:.0f} MB" if n >= 1e7 else f"{n / 1e6:.1f} MB"


def say(message: str) -> None:
    """Progress for the person watching (a section can take minutes)."""
    print(f"   {message}", flush=True)
