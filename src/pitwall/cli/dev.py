"""`pitwall dev ...`: the local development stack."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import typer

from pitwall.devstack.layout import DEFAULT_DATA_DIR

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Run the local development stack.")


@app.callback()
def _dev() -> None:
    """Run the local development stack."""


@app.command()
def up(
    data_dir: Path = typer.Option(Path(DEFAULT_DATA_DIR), "--data-dir",
                                  help="where the stack keeps its data, logs and ports"),
    port: int | None = typer.Option(
        None, "--port", help="HTTP port of the web UI and API (default: 8000, or a free one when 8000 is taken)"
    ),
    samples: bool = typer.Option(True, "--samples/--no-samples", help="load the sample runs once ready"),
    car: bool = typer.Option(True, "--car/--no-car", help="a simulated car recording logs for the base station"),
    rabbit: str = typer.Option(
        "auto", "--rabbit", help="auto: the machine's broker on 127.0.0.1:5672 when it answers, else a private node; "
        "or machine / private",
    ),
) -> None:
    """Start MongoDB, S3, RabbitMQ and the five services; Ctrl-C stops everything."""
    from pitwall.devstack.servers import RabbitChoice
    from pitwall.devstack.supervisor import DevStackConfig, Supervisor

    if rabbit not in ("auto", "machine", "private"):
        raise typer.BadParameter("auto, machine or private", param_hint="--rabbit")
    choice = cast("RabbitChoice", rabbit)  # checked just above
    config = DevStackConfig(data_dir=data_dir, http_port=port, samples=samples, rabbit=choice, car=car)
    raise typer.Exit(Supervisor(config).run())


@app.command()
def car(
    logs_dir: Path = typer.Argument(..., help="the car's log folder (what the base station watches)"),
    count: int = typer.Option(6, "--count", min=1, help="recordings to make, then stop"),
    minutes: float = typer.Option(0.5, "--minutes", min=0.01, help="length of each recording"),
    record_s: float = typer.Option(20.0, "--record-s", min=0, help="seconds each file grows while recording"),
    pause_s: float = typer.Option(40.0, "--pause-s", min=0, help="seconds between recordings"),
) -> None:
    """A simulated car: its logger writes synth recordings into LOGS_DIR over time."""
    import signal
    import threading

    from pitwall.devstack.car import simulate_car

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    simulate_car(logs_dir, count=count, minutes=minutes, record_s=record_s, pause_s=pause_s, stop=stop,
                 say=lambda m: typer.echo(m))
    # Stay up (idle) so the supervisor does not restart a car that simply finished.
    stop.wait()
