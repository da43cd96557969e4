"""Which stack a command talks to: the one the environment names, else the one `make up`
started in this checkout (found from the checkout or any folder below it).

Rules (README, "The `pitwall` command"):
- Any of PITWALL_MONGO_URL, PITWALL_AMQP_URL, PITWALL_S3_ENDPOINT set: the environment
  says where the stack is, and no file is read (a half-and-half of two stacks would write
  one stack's catalogue next to another's objects).
- Otherwise the nearest `.pitwall/env` above the working folder fills in every PITWALL_*
  variable the environment does not set.
- A dev stack's backup key (`<data dir>/backup-key`) stands in for an unset
  PITWALL_BACKUP_PASSWORD, also when `.pitwall/env` was sourced by hand.

Before a command talks to a server, `require` checks in about a second that the server
answers, so a stack that is not running is one line and exit 1, never a driver's
traceback after its 30 s server-selection wait.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn
from urllib.parse import urlparse

import typer

from pitwall.devstack import layout

ENDPOINT_VARS = ("PITWALL_MONGO_URL", "PITWALL_AMQP_URL", "PITWALL_S3_ENDPOINT")
PROBE_TIMEOUT_S = 1.5
Server = Literal["mongodb", "broker", "s3"]
_SETTING: dict[Server, str] = {
    "mongodb": "PITWALL_MONGO_URL", "broker": "PITWALL_AMQP_URL", "s3": "PITWALL_S3_ENDPOINT"
}
_NAME: dict[Server, str] = {"mongodb": "MongoDB", "broker": "RabbitMQ", "s3": "S3"}


@dataclass(frozen=True)
class StackSource:
    """Where this process's settings came from, for the messages."""

    kind: Literal["environment", "file", "defaults"]
    env_file: Path | None = None

    def describe(self) -> str:
        if self.kind == "file":
            return f"the stack of {self.env_file}"
        if self.kind == "environment":
            return "the stack PITWALL_* names"
        return "the default endpoints (no PITWALL_* set, no .pitwall/env found here)"


_source: StackSource | None = None


def find_env_file(start: Path) -> Path | None:
    """The nearest `.pitwall/env` in `start` or a folder above it."""
    for folder in (start, *start.parents):
        candidate = folder / layout.DEFAULT_DATA_DIR / layout.ENV_FILE
        if candidate.is_file():
            return candidate
    return None


def use_stack(start: Path | None = None) -> StackSource:
    """Point this process's settings at the stack it belongs to (see the module's rules)."""
    global _source
    from dotenv import dotenv_values

    from pitwall.common.settings import get_settings

    if any(os.environ.get(name) for name in ENDPOINT_VARS):
        source = StackSource("environment")
    else:
        found = find_env_file((start or Path.cwd()).resolve())
        source = StackSource("file", found) if found else StackSource("defaults")
        if found is not None:
            for key, value in dotenv_values(found).items():
                if key.startswith("PITWALL_") and value is not None:
                    os.environ.setdefault(key, value)
    if not os.environ.get("PITWALL_BACKUP_PASSWORD") and os.environ.get("PITWALL_DATA_DIR"):
        key_file = Path(os.environ["PITWALL_DATA_DIR"]) / layout.BACKUP_KEY
        if key_file.is_file():
            os.environ["PITWALL_BACKUP_PASSWORD"] = key_file.read_text().strip()
    get_settings.cache_clear()
    _source = source
    return source


def _address(server: Server) -> tuple[str, int]:
    from pitwall.common.settings import get_settings

    settings = get_settings()
    if server == "mongodb":
        from pymongo.uri_parser import parse_uri

        host, port = parse_uri(settings.mongo_url)["nodelist"][0]
        return host, int(port)
    if server == "broker":
        u = urlparse(settings.amqp_url)
        return u.hostname or "127.0.0.1", u.port or (5671 if u.scheme == "amqps" else 5672)
    host, _, port = settings.s3_endpoint.rpartition(":")
    return (host, int(port)) if host else (settings.s3_endpoint, 443 if settings.s3_secure else 80)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def down_message(server: Server, host: str, port: int, source: StackSource) -> str:
    where = f"{_NAME[server]} at {host}:{port}"
    if source.kind == "file":
        assert source.env_file is not None
        checkout = source.env_file.parent.parent
        return (f"pitwall: {where} does not answer: the stack of {checkout} is not running; "
                f"start it with `make up` in {checkout}")
    if source.kind == "environment":
        return f"pitwall: {where} does not answer ({_SETTING[server]} from the environment); is that stack running?"
    return (f"pitwall: no pitwall stack is running here ({where} does not answer) and none is configured: "
            "start one with `make up` in the checkout, "
            "or set PITWALL_MONGO_URL, PITWALL_AMQP_URL and PITWALL_S3_ENDPOINT")


def fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def require(servers: Iterable[Server]) -> None:
    """Exit 1 with one line when one of `servers` does not answer."""
    source = _source or use_stack()
    for server in servers:
        host, port = _address(server)
        if not _answers(host, port):
            fail(down_message(server, host, port, source))
