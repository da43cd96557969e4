"""`pitwall dev ...`: the local development stack."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Run the local development stack.")


@app.callback()
def _dev() -> None:
    """Run the local development stack."""


@app.command()
def up(
    data_dir: Path = typer.Option(Path(".pitwall"), "--data-dir", help="where the stack keeps its data, logs and ports"),
    port: int | None = typer.Option(
        None, "--port", help="HTTP port of the web UI and API (default: 8000, or a free one when 8000 is taken)"
    ),
    samples: bool = typer.Option(True, "--samples/--no-samples", help="load the sample runs once ready"),
    rabbit: str = typer.Option(
        "auto", "--rabbit", help="auto: the machine's broker on 127.0.0.1:5672 when it answers, else a private node; "
        "or machine / private",
    ),
) -> None:
    """Start MongoDB, S3, RabbitMQ and the five services; Ctrl-C stops everything."""
    from pitwall.devstack.supervisor import DevStackConfig, Supervisor

    if rabbit not in ("auto", "machine", "private"):
        raise typer.BadParameter("auto, machine or private", param_hint="--rabbit")
    config = DevStackConfig(data_dir=data_dir, http_port=port, samples=samples, rabbit=rabbit)
    raise typer.Exit(Supervisor(config).run())
