"""`pitwall token create|list|revoke|ensure-admin`: API tokens, an admin tool of ingest's DB.

Writes the `tokens` collection directly through `pitwall.common.tokenstore` (shared with
ingest, which applies the web page's token commands): token management must work even when
no service is running, e.g. to get the first admin token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import typer
from pymongo.asynchronous.collection import AsyncCollection

from pitwall.common import db
from pitwall.common.settings import get_settings
from pitwall.devstack.layout import ADMIN_TOKEN, DEFAULT_DATA_DIR

app = typer.Typer(no_args_is_help=True, add_completion=False, help="API tokens: create, list, revoke.")

T = TypeVar("T")


class RoleName(StrEnum):
    viewer = "viewer"
    uploader = "uploader"
    editor = "editor"
    admin = "admin"


def _run(work: Callable[[AsyncCollection[dict[str, Any]]], Awaitable[T]]) -> T:
    from pitwall.cli.stack import require
    from pitwall.common.contracts.mongo import TOKENS

    require(["mongodb"])
    settings = get_settings()

    async def main() -> T:
        client = db.make_client(settings)
        try:
            return await work(db.database(client, settings)[TOKENS])
        finally:
            await client.close()

    try:
        return asyncio.run(main())
    except Exception as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def create(
    role: RoleName = typer.Option(..., "--role", help="viewer | uploader | editor | admin"),
    name: str | None = typer.Option(None, "--name", help="who or what uses it (shown in logs and uploads)"),
    expires: str | None = typer.Option(
        None, "--expires", help="refused after this long: 90m, 12h, 30d, 2w (default: never)", metavar="DURATION",
    ),
) -> None:
    """Create a token and print it (it is shown only this once)."""
    from pitwall.common import tokenstore as tokens
    from pitwall.common.apitokens import parse_duration

    try:
        expires_in = parse_duration(expires) if expires is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--expires") from None
    info, secret = _run(lambda coll: tokens.create(coll, role.value, name, expires_in=expires_in))
    until = f", expires {_when(info.expires_at)} UTC" if info.expires_at else ""
    typer.echo(f"created token {info.id} ({info.role}, {info.name!r}{until}); keep it secret:", err=True)
    typer.echo(secret)


def _when(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


@app.command("list")
def list_() -> None:
    """List tokens (never their secrets), with when each expires (UTC)."""
    from pitwall.common import tokenstore as tokens

    rows = _run(lambda coll: tokens.list_tokens(coll))
    if not rows:
        typer.echo("no tokens")
        return
    typer.echo(f"{'id':<10}{'role':<10}{'created':<22}{'last used':<22}{'revoked':<22}{'expires':<30}name")
    for t in rows:
        expires = "never" if t.expires_at is None else _when(t.expires_at) + (" (expired)" if t.expired() else "")
        typer.echo(f"{t.id:<10}{t.role:<10}{_when(t.created_at):<22}{_when(t.last_used_at):<22}{_when(t.revoked_at):<22}"
                   f"{expires:<30}{t.name}")


@app.command()
def revoke(token_id: str = typer.Argument(..., help="the id shown by `pitwall token list`")) -> None:
    """Revoke a token: requests with it are refused within a few seconds."""
    from pitwall.common import tokenstore as tokens

    if not _run(lambda coll: tokens.revoke(coll, token_id)):
        typer.echo(f"no active token with id {token_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {token_id}")


@app.command("ensure-admin")
def ensure_admin(
    file: Path = typer.Option(Path(DEFAULT_DATA_DIR, ADMIN_TOKEN), "--file", help="where the admin token is kept"),
) -> None:
    """Print the admin token kept in FILE, creating one when FILE holds no valid token."""
    from pitwall.common import tokenstore as tokens

    secret, created = _run(lambda coll: tokens.ensure_admin_token(coll, file))
    if created:
        typer.echo(f"created an admin token, saved in {file}", err=True)
    typer.echo(secret)
