"""`pitwall`: the single entry point for people. Each verb lives in its own module."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="pitwall: the team's telemetry data cloud.")

# (verb, module, function): modules are imported lazily so `pitwall convert` does not pay
# for FastAPI or aio-pika imports.
_COMMANDS: list[tuple[str, str, str]] = [
    ("synth", "pitwall.cli.synth", "synth"),
    ("convert", "pitwall.cli.convert", "convert"),
    ("service", "pitwall.cli.service", "service"),
]
_GROUPS: list[tuple[str, str, str]] = [
    ("dev", "pitwall.cli.dev", "app"),
    ("token", "pitwall.cli.token", "app"),
]


@app.callback()
def _root() -> None:
    """pitwall: the team's telemetry data cloud."""


def _lazy(module: str, attr: str):  # type: ignore[no-untyped-def]
    return getattr(importlib.import_module(module), attr)


for verb, module, func in _COMMANDS:
    try:
        app.command(verb)(_lazy(module, func))
    except ModuleNotFoundError as exc:  # a verb still being built must not break the others
        if exc.name != module:
            raise
for verb, module, attr in _GROUPS:
    try:
        app.add_typer(_lazy(module, attr), name=verb)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise


if __name__ == "__main__":
    app()
