#!/usr/bin/env python3
"""Dependency vulnerability audit of the locked environment (`make lint`).

Exports exactly what uv.lock pins (every group and extra, without our own workspace
packages), asks pip-audit about those versions, and fails only on a known vulnerability
that has a fixed version: that one we can and must act on, by bumping the pin
(`uv lock --upgrade-package NAME`, then commit pyproject.toml/uv.lock). Vulnerabilities
without any fix yet are listed, not failed on: nothing in the lock can change them.

pip-audit runs with --no-deps --disable-pip: the export is the complete pinned set, so
no resolver and no throw-away virtualenv are needed. Its answers are cached by pip-audit
(~/.cache/pip-audit), so a second run asks little of PyPI.

Exit codes: 0 nothing fixable, 1 fixable vulnerabilities, 2 the audit itself failed
(pip-audit missing or crashed). When the vulnerability service answers for none of the
packages (offline; or a PyPI mirror without the JSON API, as on the team's build
machines) the audit is not done: it says so loudly and exits 0, or 2 with
PITWALL_AUDIT_REQUIRED=1 (set it where the service is reachable, so a broken audit
cannot pass quietly).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _pip_audit() -> str:
    local = REPO / ".venv" / "bin" / "pip-audit"
    return str(local) if local.exists() else (shutil.which("pip-audit") or "pip-audit")


def locked_requirements(dest: Path) -> None:
    subprocess.run(
        [*_uv(), "export", "--frozen", "--no-hashes", "--no-emit-workspace", "--no-emit-project",
         "--all-groups", "--all-extras", "--quiet", "--output-file", str(dest)],
        cwd=REPO, check=True,
    )


def audit(requirements: Path, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_pip_audit(), "--requirement", str(requirements), "--no-deps", "--disable-pip",
         "--vulnerability-service", "pypi", "--format", "json", "--output", str(report),
         "--progress-spinner", "off"],
        cwd=REPO, capture_output=True, text=True,
    )


def skipped(report: dict[str, Any]) -> list[str]:
    """Locked packages the service could not tell anything about."""
    return [f"{d['name']}: {d['skip_reason']}" for d in report.get("dependencies", []) if d.get("skip_reason")]


def split(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(fixable, unfixable) lines, one per vulnerability of a locked package."""
    fixable, unfixable = [], []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            ids = ", ".join([vuln["id"], *vuln.get("aliases", [])])
            fixes = vuln.get("fix_versions") or []
            line = f"{dep['name']} {dep['version']}: {ids}"
            if fixes:
                fixable.append(f"{line} (fixed in {', '.join(fixes)}): uv lock --upgrade-package {dep['name']}")
            else:
                unfixable.append(f"{line} (no fixed version yet)")
    return fixable, unfixable


def main() -> int:
    if os.environ.get("PITWALL_SKIP_AUDIT") == "1":
        print("audit-deps: skipped (PITWALL_SKIP_AUDIT=1)")
        return 0
    with tempfile.TemporaryDirectory(prefix="audit-deps-") as tmp:
        requirements, report_path = Path(tmp) / "locked.txt", Path(tmp) / "report.json"
        locked_requirements(requirements)
        count = sum(1 for line in requirements.read_text().splitlines() if "==" in line and not line.startswith("#"))
        result = audit(requirements, report_path)
        if result.returncode not in (0, 1) or not report_path.exists():
            print(f"audit-deps: pip-audit could not audit the lock (exit {result.returncode}):\n"
                  f"{result.stderr.strip()[-2000:]}\n"
                  "(offline? PITWALL_SKIP_AUDIT=1 skips the audit)", file=sys.stderr)
            return 2
        report = json.loads(report_path.read_text())
    unaudited = skipped(report)
    if unaudited and len(unaudited) == len(report.get("dependencies", [])):
        print(f"audit-deps: NOT AUDITED: the vulnerability service knew none of the {count} locked packages "
              f"(offline, or an index without PyPI's JSON API), e.g. {unaudited[0]}", file=sys.stderr)
        return 2 if os.environ.get("PITWALL_AUDIT_REQUIRED") == "1" else 0
    for line in unaudited:
        print(f"audit-deps: not audited: {line}")
    fixable, unfixable = split(report)
    for line in unfixable:
        print(f"audit-deps: known, no fix yet: {line}")
    if fixable:
        print("audit-deps: vulnerabilities with a fix available:", *fixable, sep="\n  ", file=sys.stderr)
        return 1
    print(f"audit-deps: {count} locked packages, no known vulnerability with a fix available")
    return 0


if __name__ == "__main__":
    sys.exit(main())
