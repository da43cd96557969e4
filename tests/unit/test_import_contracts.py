"""The import contracts of pyproject.toml catch what they are for.

`make lint` runs `lint-imports` on the real packages; here the same contracts run, with the real
tool, on a small tree of empty modules in tmp_path named like ours (under `fakewall` instead of
`pitwall`, so the installed packages cannot mix in). The tree as built keeps every contract;
each case plants one import that crosses a boundary and expects exactly its contract broken.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

SERVICES = ["ingest", "query_api", "converter", "basestation", "backup"]
LIBRARIES = ["common", "export", "backupkit"]
LAPTOP = ["cli", "client", "devstack", "synth"]

# The contract names as pyproject.toml spells them (their starts are enough to find them).
SERVICES_CONTRACT = "services never import each other"
LIBRARIES_CONTRACT = "libraries import no service"
CLI_CONTRACT = "the CLI, client, dev stack and synth import no service"
ROUTERS_CONTRACT = "query_api's routers never import each other"


def _contracts_section() -> str:
    """[tool.importlinter] and its contracts, verbatim from pyproject.toml."""
    lines = (REPO_ROOT / "pyproject.toml").read_text().splitlines()
    start = lines.index("[tool.importlinter]")
    section = [lines[start]]
    for line in lines[start + 1 :]:
        if line.startswith("[") and "tool.importlinter" not in line:
            break
        section.append(line)
    return "\n".join(section) + "\n"


def _module(root: Path, dotted: str, body: str = "") -> None:
    """A package `dotted` (and its parents below fakewall) whose __init__ holds `body`."""
    parts = dotted.split(".")
    for depth in range(2, len(parts)):
        init = root.joinpath(*parts[:depth], "__init__.py")
        if not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text("")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    (path / "__init__.py").write_text(body)


def _named_modules() -> set[str]:
    """Every module a contract of pyproject.toml names (wildcards left out): each must exist."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    names = set(config["root_packages"])
    for contract in config["contracts"]:
        for key in ("modules", "source_modules", "forbidden_modules"):
            names |= {m for m in contract.get(key, []) if "*" not in m}
    return names


def _tree(root: Path) -> None:
    """Every package the contracts name, importing only what the contracts allow."""
    for name in SERVICES + LIBRARIES + LAPTOP:
        _module(root, f"fakewall.{name}")
    for name in _named_modules():  # what later contracts add (e.g. a module routers must not use)
        _module(root, name.replace("pitwall.", "fakewall.", 1))
    # Allowed: a service uses the libraries; the routers use their domain modules.
    _module(root, "fakewall.ingest.app", "import fakewall.common\n")
    _module(root, "fakewall.converter.worker", "import fakewall.export\n")
    _module(root, "fakewall.backup.app", "import fakewall.backupkit\n")
    _module(root, "fakewall.cli.backup", "import fakewall.backupkit\n")  # the core, not the service
    _module(root, "fakewall.query_api.runs", "import fakewall.common\n")
    for router in ("runs", "stations", "ops"):
        _module(root, f"fakewall.query_api.routers.{router}", "import fakewall.query_api.runs\n")
    # Allowed by name (the ignore_imports of the CLI contract): the command that fronts a service.
    _module(root, "fakewall.basestation.app")
    _module(root, "fakewall.cli.basestation", "import fakewall.basestation.app\n")
    # fakewall itself stays a namespace package, as pitwall is (one portion per package).
    assert not (root / "fakewall" / "__init__.py").exists()


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    config = root / "importlinter.toml"
    config.write_text(_contracts_section().replace("pitwall.", "fakewall."))
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), str(config), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )


def _verdicts(output: str) -> dict[str, str]:
    """Contract name start -> KEPT/BROKEN, read from lint-imports' summary (names wrap lines)."""
    flat = " ".join(output.split())
    found: dict[str, str] = {}
    for name in (SERVICES_CONTRACT, LIBRARIES_CONTRACT, CLI_CONTRACT, ROUTERS_CONTRACT):
        at = flat.find(name)
        assert at >= 0, f"contract {name!r} not in the output:\n{output}"
        kept, broken = flat.find(" KEPT", at), flat.find(" BROKEN", at)
        ends = [i for i in (kept, broken) if i >= 0]
        assert ends, f"no verdict for {name!r}:\n{output}"
        found[name] = "KEPT" if min(ends) == kept else "BROKEN"
    return found


def test_the_tree_as_built_keeps_every_contract(tmp_path: Path) -> None:
    _tree(tmp_path)
    done = _lint(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_verdicts(done.stdout).values()) == {"KEPT"}


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("fakewall.query_api.app", "import fakewall.ingest", SERVICES_CONTRACT),
        ("fakewall.backup.worker", "from fakewall.converter import worker", SERVICES_CONTRACT),
        ("fakewall.common.rules", "import fakewall.query_api", LIBRARIES_CONTRACT),
        ("fakewall.export.mat", "import fakewall.cli", LIBRARIES_CONTRACT),
        ("fakewall.cli.convert", "import fakewall.converter.worker", CLI_CONTRACT),
        ("fakewall.cli.backup", "import fakewall.backup.app", CLI_CONTRACT),
        ("fakewall.backupkit.core", "import fakewall.backup.app", LIBRARIES_CONTRACT),
        ("fakewall.devstack.tokens", "import fakewall.ingest.app", CLI_CONTRACT),
        ("fakewall.query_api.routers.ops", "import fakewall.query_api.routers.stations", ROUTERS_CONTRACT),
    ],
)
def test_a_planted_import_breaks_its_contract(tmp_path: Path, module: str, planted: str, broken: str) -> None:
    _tree(tmp_path)
    path = tmp_path.joinpath(*module.split(".")).with_suffix(".py")
    if path.with_suffix("").is_dir():  # a package of the tree: plant in its __init__
        path = path.with_suffix("") / "__init__.py"
    path.write_text(path.read_text() + planted + "\n" if path.exists() else planted + "\n")
    done = _lint(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    verdicts = _verdicts(done.stdout)
    assert verdicts[broken] == "BROKEN", done.stdout
    assert [name for name, verdict in verdicts.items() if verdict == "BROKEN"] == [broken], done.stdout
