"""``verify`` (the applied history against the files) and ``check-heads``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .base import (
    State,
    cli,
    escape,
    run_async,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    pass


@cli.command()
@click.option(
    "--accept",
    "accept",
    multiple=True,
    metavar="REV",
    help="Acknowledge that REV's file is gone or was edited on purpose (recorded in the history).",
)
@run_async
async def verify(state: State, accept: tuple[str, ...]) -> None:
    """Check the applied history: edited or deleted revision files, revisions applied out of
    order, unmerged heads. Exit 1 if anything is found, 2 if nothing was found but some checks
    could not be made (no history table, applied revisions without a checksum)."""
    from ..tables.history import NOT_CHECKED

    if accept:
        for problem in await state.migrator().accept(accept):
            stdout.print(
                f"Accepted {problem.kind} {escape(str(problem.revision))}: {escape(problem.message)}"
            )
    found = await state.migrator().verify()
    problems = [problem for problem in found if problem.kind != NOT_CHECKED]
    gaps = [problem for problem in found if problem.kind == NOT_CHECKED]
    if not found:
        stdout.print("History verified: every applied revision matches its file.")
        return
    for problem in problems:
        stdout.print(f"[red]{problem.kind}:[/red] {escape(problem.message)}")
    for gap in gaps:
        stdout.print(f"[yellow]not verified:[/yellow] {escape(gap.message)}")
    # 1: something is wrong; 2: nothing found, but not everything could be checked.
    raise click.exceptions.Exit(1 if problems else 2)


@cli.command("check-heads")
@run_async
async def check_heads(state: State) -> None:
    """Exit 1 when the scripts have more than one head without a merge (for CI)."""
    problems = await state.migrator(database=False).check_heads()
    if not problems:
        stdout.print("One head: no unmerged branches.")
        return
    for problem in problems:
        stderr.print(f"[bold red]error:[/bold red] {escape(problem.message)}")
    raise click.exceptions.Exit(1)
