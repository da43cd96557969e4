"""MongoDB wire protocol for development and tests: a SecantusDB server process.

SecantusDB is a dev/test stand-in for mongod (see docs/local-services.md); the product
only ever talks to it through PyMongo, never by importing it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from pitwall.devstack.process import ManagedProcess
from pitwall.devstack.waiting import wait_until


def mongo_url(port: int, host: str = "127.0.0.1") -> str:
    return f"mongodb://{host}:{port}/?directConnection=true"


def _secantusd() -> str:
    # Next to the running interpreter first: `.venv/bin/secantusd-py` even when the
    # venv is not activated.
    beside = Path(sys.executable).with_name("secantusd-py")
    if beside.exists():
        return str(beside)
    found = shutil.which("secantusd-py")
    if found is None:
        raise RuntimeError("secantusd-py not found: run `make install` (secantusdb is a dev dependency)")
    return found


def mongo_answers(url: str) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=500, connectTimeoutMS=500)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def start_secantus(data_dir: Path, port: int, log_path: Path) -> ManagedProcess:
    """Start SecantusDB with its WiredTiger files in `data_dir` (kept across restarts)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # An explicit (empty) config file turns off the search of ./secantusd.toml and
    # ~/.secantus/, so a developer's own config cannot change what tests run against.
    config = data_dir.parent / f"{data_dir.name}.secantusd.toml"
    config.write_text("# settings come from the command line (pitwall.devstack.mongo)\n")
    argv = [
        _secantusd(),
        "--config", str(config),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--storage-path", str(data_dir),
        "--log-level", "WARNING",
        # The default 1 GB cache is sized for a server, not for a laptop running five services.
        "--cache-size", "256M",
    ]
    return ManagedProcess("mongodb", argv, cwd=data_dir, log_path=log_path, stop_timeout=15.0).start()


def wait_mongo(url: str, proc: ManagedProcess, timeout: float = 60.0) -> float:
    return wait_until(lambda: mongo_answers(url), what=f"MongoDB (SecantusDB) at {url}", timeout=timeout, watch=[proc])
