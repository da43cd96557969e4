"""Each cross-service fact is defined once, in its contract module (issue 22).

Scans the Python source of libs/, services/ and src/ with `ast` and fails when a second
definition appears outside the fact's home:
- a module-level constant whose value is a collection name (`pitwall.common.contracts.mongo`),
  or a collection reached by a literal name (`db["runs"]`, `get_collection("runs")`);
- the search-word split `[^0-9a-z]+` (`contracts.searchwords`);
- the MCAP magic bytes (`contracts.mcap`);
- a SHA-256 of a token or secret (`pitwall.common.apitokens.hash_token`).

Tests are not scanned: a test states a fact itself on purpose (an oracle that does not
reuse the code under test).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pitwall.common.contracts import mongo
from pitwall.common.contracts.mcap import MAGIC

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("libs", "services", "src")
SKIP_PARTS = {".venv", "__pycache__", "build", "dist", "node_modules"}

COMMON = "libs/common/src/pitwall/common"
HOMES = {
    "collection": f"{COMMON}/contracts/mongo.py",
    "tokenizer": f"{COMMON}/contracts/searchwords.py",
    "mcap-magic": f"{COMMON}/contracts/mcap.py",
    "token-hash": f"{COMMON}/apitokens.py",
}

# Copies allowed to remain (none): an entry that no longer matches anything fails the test,
# so the list cannot go stale.
ALLOWED: set[tuple[str, str]] = set()

TOKENIZER = "[^0-9a-z]+"
_DATABASE = re.compile(r"(\bdb\b|_db\b|database|mongo)", re.IGNORECASE)
_TOKENISH = re.compile(r"token|secret|bearer", re.IGNORECASE)
_COLLECTION_CALLS = {"get_collection", "create_collection", "drop_collection"}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    fact: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.fact}: {self.what} (its home: {HOMES[self.fact]})"


def _sources() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if not SKIP_PARTS.intersection(path.relative_to(ROOT).parts):
                yield path


def _collection_name(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in mongo.ALL:
        return node.value
    return None


def _module_constants(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and (name := _collection_name(stmt.value)):
            yield stmt.lineno, f"module constant = {name!r}"


def _enclosing_functions(tree: ast.Module) -> dict[ast.AST, str]:
    """Each node -> the names of the functions around it, joined (for the token-hash check)."""
    out: dict[ast.AST, str] = {}

    def visit(node: ast.AST, names: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = f"{names} {node.name}"
        for child in ast.iter_child_nodes(node):
            out[child] = names
            visit(child, names)

    visit(tree, "")
    return out


def _is_sha256(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "sha256") or (
        isinstance(func, ast.Name) and func.id == "sha256"
    )


def scan_source(text: str, rel: str) -> list[Finding]:
    """Second definitions in one module's source (`rel`: its path from the repository root)."""
    tree = ast.parse(text, filename=rel)
    found: list[Finding] = []

    def add(line: int, fact: str, what: str) -> None:
        if rel != HOMES[fact]:
            found.append(Finding(rel, line, fact, what))

    for line, what in _module_constants(tree):
        add(line, "collection", what)
    functions = _enclosing_functions(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and (name := _collection_name(node.slice)):
            if _DATABASE.search(ast.unparse(node.value)):
                add(node.lineno, "collection", f"{ast.unparse(node)}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _COLLECTION_CALLS and node.args:
                if name := _collection_name(node.args[0]):
                    add(node.lineno, "collection", f"{func.attr}({name!r})")
            if _is_sha256(func) and node.args:
                context = " ".join(ast.unparse(a) for a in node.args) + functions.get(node, "")
                if _TOKENISH.search(context):
                    add(node.lineno, "token-hash", ast.unparse(node))
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str) and TOKENIZER in node.value:
                add(node.lineno, "tokenizer", repr(node.value))
            elif isinstance(node.value, bytes) and MAGIC[1:6] in node.value:
                add(node.lineno, "mcap-magic", repr(node.value))
    return found


def scan() -> list[Finding]:
    out: list[Finding] = []
    for path in _sources():
        out += scan_source(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    return out


def test_sources_are_found() -> None:
    paths = {p.relative_to(ROOT).as_posix() for p in _sources()}
    assert set(HOMES.values()) <= paths
    assert len(paths) > 100


def test_each_fact_is_defined_once() -> None:
    findings = scan()
    unexpected = [f for f in findings if (f.path, f.fact) not in ALLOWED]
    assert not unexpected, "a second definition of a contract:\n" + "\n".join(map(str, unexpected))
    stale = ALLOWED - {(f.path, f.fact) for f in findings}
    assert not stale, f"allowed copies that are gone (remove them from ALLOWED): {sorted(stale)}"


# The detectors themselves, on planted copies (each must be caught, and its home spared).
PLANTED = [
    ("collection", 'RUNS = "runs"\n'),
    ("collection", 'JOBS: Final = "jobs"\n'),
    ("collection", 'async def f(db):\n    return await db["tokens"].find_one({})\n'),
    ("collection", 'def f(client, s):\n    return client[s.mongo_db]["run_summaries"]\n'),
    ("collection", 'def f(d):\n    return d.get_collection("backups")\n'),
    ("tokenizer", 'import re\nSPLIT = re.compile(r"[^0-9a-z]+")\n'),
    ("mcap-magic", 'MAGIC = b"\\x89MCAP0\\r\\n"\n'),
    ("token-hash", 'import hashlib\ndef f(token):\n    return hashlib.sha256(token.encode()).hexdigest()\n'),
    ("token-hash", 'import hashlib\ndef hash_secret(s):\n    return hashlib.sha256(s.encode()).hexdigest()\n'),
]


@pytest.mark.parametrize(("fact", "source"), PLANTED)
def test_a_planted_copy_is_caught(fact: str, source: str) -> None:
    assert [f.fact for f in scan_source(source, "services/x/src/pitwall/x/copy.py")] == [fact]
    assert scan_source(source, HOMES[fact]) == []


@pytest.mark.parametrize(
    "source",
    [
        'def f(lap):\n    return lap["signals"]\n',  # a field that shares a collection's name
        'COUNTS = {"runs": 0}\n',
        'import hashlib\ndef f(body):\n    return hashlib.sha256(body).hexdigest()\n',  # file digests
    ],
)
def test_look_alikes_are_not_copies(source: str) -> None:
    assert scan_source(source, "services/x/src/pitwall/x/other.py") == []
