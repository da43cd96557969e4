"""scripts/audit-deps.py: fails on a vulnerability with a fix, lists the others, and never
passes quietly when nothing was audited. (pip-audit's JSON report shape, version 2.x.)"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit-deps.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


audit_deps = _load()

CLEAN = {"name": "fastapi", "version": "0.165.0", "vulns": []}
FIXABLE = {"name": "jinja2", "version": "3.1.2", "vulns": [
    {"id": "GHSA-h5c8-rqwp-cp95", "aliases": ["CVE-2024-22195"], "fix_versions": ["3.1.3"], "description": "xss"},
]}
UNFIXABLE = {"name": "ecdsa", "version": "0.19.0", "vulns": [
    {"id": "GHSA-wj6h-64fc-37mp", "aliases": ["CVE-2024-23342"], "fix_versions": [], "description": "timing"},
]}
SKIPPED = {"name": "aio-pika",
           "skip_reason": "Dependency not found on PyPI and could not be audited: aio-pika (10.2.1)"}


def test_only_vulnerabilities_with_a_fix_fail() -> None:
    fixable, unfixable = audit_deps.split({"dependencies": [CLEAN, FIXABLE, UNFIXABLE, SKIPPED]})
    assert fixable == [
        "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95, CVE-2024-22195 (fixed in 3.1.3): uv lock --upgrade-package jinja2"
    ]
    assert unfixable == ["ecdsa 0.19.0: GHSA-wj6h-64fc-37mp, CVE-2024-23342 (no fixed version yet)"]


def _run_with(monkeypatch: pytest.MonkeyPatch, deps: list[dict[str, Any]]) -> int:
    def fake_audit(requirements: Path, report: Path) -> subprocess.CompletedProcess[str]:
        assert "==" in requirements.read_text()  # the real export of uv.lock
        report.write_text(json.dumps({"dependencies": deps, "fixes": []}))
        return subprocess.CompletedProcess([], 1 if any(d.get("vulns") for d in deps) else 0, "", "")

    monkeypatch.setattr(audit_deps, "audit", fake_audit)
    return int(audit_deps.main())


def test_exit_codes(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PITWALL_SKIP_AUDIT", raising=False)
    monkeypatch.delenv("PITWALL_AUDIT_REQUIRED", raising=False)
    assert _run_with(monkeypatch, [CLEAN, UNFIXABLE]) == 0
    assert "no fix yet: ecdsa" in capsys.readouterr().out
    assert _run_with(monkeypatch, [CLEAN, FIXABLE, UNFIXABLE]) == 1
    assert "uv lock --upgrade-package jinja2" in capsys.readouterr().err
    # Nothing audited (no vulnerability service reachable): loud, and a failure when required.
    assert _run_with(monkeypatch, [SKIPPED]) == 0
    assert "NOT AUDITED" in capsys.readouterr().err
    monkeypatch.setenv("PITWALL_AUDIT_REQUIRED", "1")
    assert _run_with(monkeypatch, [SKIPPED]) == 2
