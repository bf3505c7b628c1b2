"""Changing the database: ``upgrade``, ``downgrade``, ``stamp``, with the apply lock's and the
per-revision timeouts' options."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..output.console import Line, emit
from .base import (
    State,
    cli,
    interrupt_on_signals,
    run_async,
    stdout,
)
from .process import freeze_heap
from .progress import live_progress
from .read import mark_heads

if TYPE_CHECKING:
    from ..api.migrator import ApplyResult


def safety_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--lock-wait/--no-wait and the per-revision timeouts, for commands that write."""
    options = [
        click.option(
            "--lock-wait", type=float, help="Seconds to wait for another migrator's lock (default 300)."
        ),
        click.option("--no-wait", is_flag=True, help="Fail at once if another migrator holds the lock."),
        click.option(
            "--lock-timeout", type=float, help="Per-revision lock_timeout in seconds (default 5; 0: off)."
        ),
        click.option(
            "--statement-timeout", type=float, help="Per-revision statement_timeout in seconds (0: off)."
        ),
        click.option(
            "--attempts", type=click.IntRange(min=1), help="Tries per revision on a lock timeout (default 3)."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _safety(options: dict[str, Any]) -> dict[str, Any]:
    safety = {k: v for k, v in options.items() if v is not None and k != "no_wait"}
    if options.get("no_wait"):
        safety["lock_wait"] = 0.0
    return safety


def migration_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--sql and --tag, then the safety options: what upgrade and downgrade share."""
    fn = safety_options(fn)
    fn = click.option("--tag", help="A string passed to env.py.")(fn)
    return click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")(fn)


@cli.command()
@click.argument("target", default="head")
@migration_options
@run_async
async def upgrade(state: State, target: str, sql: bool, tag: str | None, **options: Any) -> None:
    """Upgrade the database to TARGET (head, heads, +N, a revision)."""
    await _apply(state, "upgrade", target, sql, tag, _safety(options))


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("target")
@migration_options
@run_async
async def downgrade(state: State, target: str, sql: bool, tag: str | None, **options: Any) -> None:
    """Downgrade the database to TARGET (-1, base, a revision)."""
    await _apply(state, "downgrade", target, sql, tag, _safety(options))


async def _apply(
    state: State, direction: str, target: str, sql: bool, tag: str | None, safety: dict[str, Any]
) -> None:
    from ..api.migrator import OfflineMigrationFailed

    # --sql too: SQL rendered for the embedded SQLite file is not what a deploy that lost its
    # DATABASE_URL wanted, so the same notice (or refusal) applies
    migrator = state.migrator()
    freeze_heap()  # the libraries just imported stay until exit
    async with interrupt_on_signals(migrator):
        with live_progress(migrator, state.quiet):
            try:
                result = await getattr(migrator, direction)(target, sql=sql, tag=tag, **safety)
            except OfflineMigrationFailed as failed:
                stdout.out(failed.sql, end="")  # what rendered before the failure, as Alembic prints it
                raise
    if sql:
        stdout.out(result.sql, end="")
        return
    _report(state, result)


def _report(state: State, result: ApplyResult) -> None:
    if state.quiet:
        return
    heads = result.heads
    where = ", ".join(mark_heads(result.after, heads)) or "base (empty)"
    if result.changed:
        line = f"Database is at {where}"
    elif result.after and set(result.after) == set(heads):
        line = f"Nothing to do: already at head ({', '.join(result.after)})"
    else:
        line = f"Nothing to do: the database is at {where}"
    emit([Line.text(line)], stdout)  # rich only when the line needs it


@cli.command()
@click.argument("revisions", nargs=-1, required=True)
@click.option("--sql", is_flag=True)
@click.option("--purge", is_flag=True, help="Empty the version table first.")
@safety_options
@run_async
async def stamp(state: State, revisions: tuple[str, ...], sql: bool, purge: bool, **options: Any) -> None:
    """Set the version table to REVISIONS without running migrations."""
    migrator = state.migrator()  # --sql too: see _apply
    async with interrupt_on_signals(migrator):
        result = await migrator.stamp(list(revisions), sql=sql, purge=purge, **_safety(options))
    if sql:
        stdout.out(result.sql, end="")
    else:
        stdout.print(f"Stamped the database at {', '.join(result.after) or 'base'}")
