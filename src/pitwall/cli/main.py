"""`pitwall`: the single entry point for people. Each verb lives in its own module."""

from __future__ import annotations

import sys

if sys.argv[1:2] == ["convert"]:
    # Before any other import: the input's hash then runs while they load.
    from pitwall.cli import prehash

    prehash.start(sys.argv[2:])

import importlib

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="pitwall: the team's telemetry data cloud.")

# (verb, module, attribute, is_group). Only the module of the verb being run is imported,
# so `pitwall convert` does not pay for FastAPI, aio-pika or pymongo imports.
_VERBS: list[tuple[str, str, str, bool]] = [
    ("convert", "pitwall.cli.convert", "convert", False),
    ("info", "pitwall.cli.info", "info", False),
    ("synth", "pitwall.cli.synth", "synth", False),
    ("service", "pitwall.cli.service", "service", False),
    ("dev", "pitwall.cli.dev", "app", True),
    ("token", "pitwall.cli.token", "app", True),
    ("basestation", "pitwall.cli.basestation", "app", True),
    ("backup", "pitwall.cli.backup", "app", True),
]


@app.callback()
def _root() -> None:
    """pitwall: the team's telemetry data cloud."""


# Verbs that talk to a stack's servers: they use the stack `make up` started in this
# checkout unless PITWALL_* names another (pitwall.cli.stack).
_STACK_VERBS = frozenset({"token", "backup", "basestation"})


def _register(argv: list[str]) -> None:
    first = next((a for a in argv if not a.startswith("-")), None)
    known = {v[0] for v in _VERBS}
    if first in _STACK_VERBS:
        from pitwall.cli.stack import use_stack

        use_stack()
    for verb, module, attr, group in _VERBS:
        if first in known and verb != first:
            continue
        target = getattr(importlib.import_module(module), attr)
        if group:
            app.add_typer(target, name=verb)
        else:
            app.command(verb)(target)


def main() -> None:
    _register(sys.argv[1:])
    app()


if __name__ == "__main__":
    main()
