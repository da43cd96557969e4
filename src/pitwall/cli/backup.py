"""`pitwall backup now|list|verify|restore|prune`: backups of the catalogue and every MCAP file."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn
from urllib.parse import urlparse

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Backups: make one now, list, verify, restore, prune.")

_TARGET = typer.Option(None, "--target", help="backup target URI (else PITWALL_BACKUP_TARGET / the backup bucket)")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"pitwall backup: error: {message}", err=True)
    raise typer.Exit(code)


def _open(target: str | None, *, database: bool = False) -> tuple[Any, Any]:
    """Settings and the backup target; first checks that the servers it needs answer
    (S3 unless the target is a folder, MongoDB when `database`)."""
    from pitwall.backupkit.target import TargetError, open_target
    from pitwall.cli.stack import Server, require
    from pitwall.common.settings import get_settings

    settings = get_settings()
    uri = target or settings.backup_target
    needs: list[Server] = ["mongodb"] if database else []
    if not uri.startswith("file:") or database:
        needs.append("s3")  # the catalogue's MCAP objects live in S3 too
    require(needs)
    try:
        return settings, open_target(settings, target)
    except TargetError as exc:
        _fail(str(exc), 2)


def _guard(work: Any) -> Any:
    from pitwall.backupkit.core import BackupError
    from pitwall.backupkit.restic import ResticError
    from pitwall.backupkit.target import TargetError

    try:
        return work()
    except (BackupError, ResticError, TargetError) as exc:
        _fail(str(exc))


class _Bar:
    """A rich progress bar per phase (objects copied, verified, restored)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), transient=True)
        self.tasks: dict[str, Any] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        if what not in self.tasks:
            self.tasks[what] = self.progress.add_task(what, total=total)
        self.progress.update(self.tasks[what], completed=done, total=total)

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


@app.command("now")
def now(with_signals: bool = typer.Option(False, "--with-signals", help="also the signal store (rebuildable)"),
        here: bool = typer.Option(False, "--here", help="make it in this process instead of asking the service"),
        target: str | None = _TARGET) -> None:
    """Ask the backup service for a backup now (or make it here with --here)."""
    from pitwall.common.events import BackupDue

    settings, tgt = _open(target, database=here)
    if not here:
        from pitwall.cli.stack import require

        require(["broker"])
    due = BackupDue.on_demand(with_signals)
    bid = str(due.slot)
    if here:
        from pitwall.backupkit.core import run_backup

        with _Bar() as bar:
            m = _guard(lambda: run_backup(settings, tgt, bid, with_signals=with_signals, progress=bar))
        typer.echo(f"backup {m.id}: {m.runs} runs, {len(m.objects)} objects ({m.objects_copied} copied), "
                   f"{m.documents} documents, {m.bytes / 1e6:.1f} MB in {m.seconds:.1f} s → {tgt.describe()}")
        return
    from pitwall.common.broker import Publisher, connect

    async def publish() -> None:
        conn = await connect(settings, name="pitwall-backup-now")
        try:
            await (await Publisher.open(conn, settings)).publish(due)
        finally:
            await conn.close()

    try:
        asyncio.run(publish())
    except Exception as exc:
        _fail(f"could not reach the broker: {exc}")
    typer.echo(f"backup {bid} asked for; the backup service makes it (`pitwall backup list` shows it when done)")


def _status(drill: str | None) -> str:
    """A listed backup is complete (its manifest was written last); the drill says
    whether it also restored. The text listing and --json say it in the same words."""
    return "complete" + (f", drill {drill}" if drill else ", no drill")


@app.command("list")
def list_(target: str | None = _TARGET, as_json: bool = typer.Option(False, "--json")) -> None:
    """Good backups at the target: time, size, runs, objects, drill verdict."""
    import json
    from dataclasses import asdict

    from pitwall.backupkit.core import drill_verdicts, list_backups

    _settings, tgt = _open(target)
    backups = _guard(lambda: list_backups(tgt))
    drills = _guard(lambda: drill_verdicts(tgt))
    if as_json:
        typer.echo(json.dumps([asdict(m) | {"drill": drills.get(m.id), "status": _status(drills.get(m.id))}
                               for m in backups], indent=1, default=str))
        return
    if not backups:
        typer.echo(f"no backups at {tgt.describe()}")
        return
    typer.echo(f"{'ID':<28} {'CREATED':<26} {'SIZE':>10} {'RUNS':>6} {'OBJECTS':>8} {'COPIED':>7}  STATUS")
    for m in backups:
        typer.echo(f"{m.id:<28} {m.created_at:<26} {m.bytes / 1e6:>8.1f}MB {m.runs:>6} {len(m.objects):>8} "
                   f"{m.objects_copied:>7}  {_status(drills.get(m.id))}")


@app.command("verify")
def verify(backup_id: str = typer.Argument(..., help="a backup id from `pitwall backup list`"),
           sample: float = typer.Option(1.0, "--sample", min=0.0, max=1.0, help="fraction of objects to re-read"),
           target: str | None = _TARGET) -> None:
    """Re-read every part of a backup and check it against its manifest."""
    from pitwall.backupkit.core import verify as run_verify

    settings, tgt = _open(target)
    with _Bar() as bar:
        problems = _guard(lambda: run_verify(settings, tgt, backup_id, sample, progress=bar))
    for p in problems.items:
        typer.echo(f"DAMAGED  {p}")
    typer.echo(f"{backup_id}: {problems.checked_documents} documents, {problems.checked_objects} objects checked, "
               f"{len(problems.items)} problem(s)")
    raise typer.Exit(0 if problems.ok else 1)


@app.command("restore")
def restore(backup_id: str = typer.Argument(...),
            into: str | None = typer.Option(None, "--into", help="mongodb://HOST:PORT/DATABASE to restore into "
                                                                   "(default: this deployment's)"),
            force: bool = typer.Option(False, "--force", help="overwrite a non-empty database and buckets"),
            partial: bool = typer.Option(False, "--partial", help="restore what is intact, list what is not"),
            target: str | None = _TARGET) -> None:
    """Restore a backup into an empty database and empty buckets."""
    from pitwall.backupkit.core import occupied
    from pitwall.backupkit.core import restore as run_restore

    settings, tgt = _open(target, database=into is None)
    if into:
        u = urlparse(into)
        if u.scheme not in ("mongodb", "mongodb+srv") or not u.path.strip("/"):
            _fail("--into takes mongodb://HOST:PORT/DATABASE", 2)
        server = f"{u.scheme}://{u.netloc}/" + (f"?{u.query}" if u.query else "")
        settings = settings.model_copy(update={"mongo_url": server, "mongo_db": u.path.strip("/")})
    if not force:
        busy = _guard(lambda: occupied(settings))
        if busy:
            _fail("the target is not empty; --force would overwrite:\n  " + "\n  ".join(busy))
    with _Bar() as bar:
        report = _guard(lambda: run_restore(settings, tgt, backup_id, force=force, partial=partial, progress=bar))
    for key in report.skipped_objects:
        typer.echo(f"NOT RESTORED  {key}")
    typer.echo(f"restored {backup_id}: {report.documents} documents, {report.objects} objects "
               f"in {report.seconds:.1f} s")
    raise typer.Exit(1 if report.skipped_objects else 0)


@app.command("prune")
def prune(target: str | None = _TARGET) -> None:
    """Apply the retention (keep daily/weekly/monthly); objects a kept backup names stay."""
    from pitwall.backupkit.core import prune as run_prune

    settings, tgt = _open(target)
    report = _guard(lambda: run_prune(settings, tgt))
    typer.echo(f"kept {len(report.kept)}, removed {len(report.removed)} backup(s) "
               f"and {report.objects_removed} object(s)")

