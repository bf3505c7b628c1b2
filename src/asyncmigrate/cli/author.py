"""Writing revisions: ``revision`` (with ``--autogenerate``, linted as written), ``merge``,
``baseline``, and ``check`` (would autogenerate write anything?)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import describe
from ..output.console import Line, emit
from .base import (
    State,
    cli,
    escape,
    run_async,
    stderr,
    stdout,
)
from .lint import lint_report

if TYPE_CHECKING:
    from ..api.migrator import CheckResult


@cli.command()
@click.option("-m", "--message", help="What the revision does.")
@click.option("--autogenerate", is_flag=True, help="Write the operations from models vs database.")
@click.option("--allow-empty-models", is_flag=True, help="Let autogenerate drop every table.")
@click.option("--head", default="head", show_default=True, help="Base the revision on this head.")
@click.option("--splice", is_flag=True, help="Allow a non-head revision as the base.")
@click.option("--branch-label", help="Label for a new branch.")
@click.option("--depends-on", help="Revisions this one depends on.")
@click.option("--rev-id", help="Use this revision id instead of a generated one.")
@click.option("--version-path", help="Directory to write the file in.")
@click.option(
    "--interactive",
    is_flag=True,
    help="With --autogenerate, on a terminal: ask whether a column dropped and one of its type"
    " added to the same table, or a table dropped and one with its columns created (no"
    " renamed_from declared), is a rename.",
)
@run_async
async def revision(
    state: State, message: str | None, autogenerate: bool, interactive: bool, **options: Any
) -> None:
    """Write a new revision file."""
    if interactive:
        if not autogenerate:
            raise click.UsageError("--interactive asks about autogenerate's findings: add --autogenerate")
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise click.UsageError(
                "--interactive needs a terminal to ask on; without one, declare renames in the models"
                ' (info={"renamed_from": ...})'
            )
        terminal = _Terminal()
        options["rename_question"] = terminal.column_rename
        options["table_rename_question"] = terminal.table_rename
    migrator = state.migrator(database=autogenerate)
    if interactive:
        with terminal.stopped_by_ctrl_c():
            paths = await migrator.revision(message, autogenerate=autogenerate, **options)
    else:
        paths = await migrator.revision(message, autogenerate=autogenerate, **options)
    for path in paths:
        stdout.print(f"Generated {escape(str(path))}")
    if autogenerate and paths:
        await _lint_new_revisions(state, paths)


class _Terminal:
    """The rename questions of ``revision --interactive``. Autogenerate asks them from its worker
    thread, where Ctrl-C cannot interrupt a blocked read: the answer is awaited in short steps,
    and Ctrl-C ends the wait with KeyboardInterrupt, before any file is written."""

    def __init__(self) -> None:
        import threading  # here, not at the top: the fast commands import this module

        self.stopped = threading.Event()
        self.asking = False

    def _on_ctrl_c(self) -> None:
        self.stopped.set()
        if not self.asking:
            raise KeyboardInterrupt  # between questions: as without --interactive

    @contextlib.contextmanager
    def stopped_by_ctrl_c(self) -> Iterator[None]:
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._on_ctrl_c)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, not the main thread
            yield
            return
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    def column_rename(self, table: str, added: str, dropped: list[str]) -> str | None:
        """Which dropped column ``added`` renames, or None (drop + add)."""
        return self._first_yes(
            dropped,
            lambda old: (
                f"Is {table}.{added} the column {table}.{old} renamed? (no: {old} is dropped with its data)"
            ),
        )

    def table_rename(self, created: str, dropped: list[str]) -> str | None:
        """Which dropped table ``created`` renames, or None (drop + create)."""
        return self._first_yes(
            dropped,
            lambda old: f"Is table {created} the table {old} renamed? (no: {old} is dropped with its rows)",
        )

    def _first_yes(self, dropped: list[str], question: Callable[[str], str]) -> str | None:
        return next((old for old in dropped if self.yes(question(old))), None)

    def yes(self, question: str) -> bool:
        while True:
            click.echo(f"{question} [y/N]: ", nl=False, err=True)
            self.asking = True
            try:
                answer = self._line().strip().lower()
            finally:
                self.asking = False
            if answer in ("y", "yes"):
                return True
            if answer in ("", "n", "no"):
                return False
            click.echo("Error: invalid input", err=True)

    def _line(self) -> str:
        import select

        while not self.stopped.is_set():
            ready, _, _ = select.select([sys.stdin], [], [], 0.2)
            if ready:
                line = sys.stdin.readline()
                if not line:  # the terminal closed (Ctrl-D): nothing is written
                    break
                return line
        click.echo("", err=True)
        raise KeyboardInterrupt


async def _lint_new_revisions(state: State, paths: list[Any]) -> None:
    """Lint what autogenerate just wrote and show it; never blocks writing the file."""
    from ..lint.project import LintRequest

    try:
        report = await lint_report(state, LintRequest(only_paths=[Path(p) for p in paths]))
    except Exception as exc:  # noqa: BLE001  (a lint failure must not hide the written revision)
        stderr.print(
            f"[yellow]warning:[/yellow] the new revision was not linted: {escape(describe(exc, None))}"
        )
        return
    if report.findings:
        stdout.print("[bold]Lint of the new revision[/bold] (review before applying):")
        from ..lint.output import print_text

        print_text(report, stdout)
    else:
        stdout.print("Lint: no findings in the new revision.")


@cli.command()
@click.option("-m", "--message", default="baseline", show_default=True)
@run_async
async def baseline(state: State, message: str) -> None:
    """Adopt a database made by create_all: write a first revision with the whole schema and
    stamp the database at it (its data is not touched)."""
    result = await state.migrator().baseline(message)
    stdout.print(f"Generated {escape(str(result.path))}")
    stdout.print(f"Stamped the database at {result.revision}")
    if not result.drift.clean:
        stderr.print(
            "[yellow]The database differs from the models; the next autogenerate will contain:[/yellow]"
        )
        stderr.print(escape(result.drift.upgrade_code))


@cli.command()
@click.argument("revisions", nargs=-1)
@click.option("-m", "--message")
@click.option("--branch-label")
@click.option("--rev-id")
@run_async
async def merge(
    state: State,
    revisions: tuple[str, ...],
    message: str | None,
    branch_label: str | None,
    rev_id: str | None,
) -> None:
    """Merge REVISIONS (default: all heads) into one."""
    path = await state.migrator(database=False).merge(
        revisions or ("heads",), message, branch_label=branch_label, rev_id=rev_id
    )
    stdout.print(f"Generated {escape(str(path))}")


@cli.command()
@run_async
async def check(state: State) -> None:
    """Compare the models with the database; exit 1 when autogenerate would write something."""
    # Alembic logs each SERIAL column it recognises ("Detected sequence named ... assuming
    # SERIAL"): news about its reading, not a difference, and the same on every run.
    logging.getLogger("alembic.ddl.postgresql").setLevel(logging.WARNING)
    result: CheckResult = await state.migrator().check()
    if result.clean:
        emit([Line.text("No changes: the database matches the models.")], stdout)
        return
    count = len(result.diffs)
    plural = "" if count == 1 else "s"
    header = f"The models differ from the database ({count} change{plural}); autogenerate would write:"
    emit([Line.text(header), Line.escaped(result.upgrade_code)], stdout)
    raise click.exceptions.Exit(1)
