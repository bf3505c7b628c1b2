"""Reading: ``current``, ``history``, ``heads``, ``branches``, ``show``, ``status``, printed as
Alembic prints them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..config import Settings
from ..errors import AsyncMigrateError, current_file_gone, describe
from ..graph.status import Status, parse_rev_range
from ..output.console import ESCAPED, RAW, STYLE, Line, emit
from .base import (
    CommandFailed,
    State,
    T,
    cli,
    run_async,
    stdout,
)

if TYPE_CHECKING:
    pass


def mark_heads(revisions: tuple[str, ...], heads: tuple[str, ...]) -> list[str]:
    return [f"{rev} (head)" if rev in heads else rev for rev in revisions]


def _fast(state: State, answer: Callable[[Settings], T | None]) -> T | None:
    """``answer(settings)`` from api/reading.py, or None when it cannot answer exactly as
    Alembic would (or fails in any way: the Migrator then reports the error in its own words).
    A database error (:class:`DatabaseFailed`) is reported as the Migrator would report it."""
    from ..api.reading import DatabaseFailed
    from ..graph.revisions import GraphUnavailable

    try:
        return answer(state.settings())
    except CommandFailed:  # already one line (the embedded default refused)
        raise
    except GraphUnavailable:
        return None
    except DatabaseFailed as failed:
        if state.debug:
            raise failed.error from None
        raise CommandFailed(describe(failed.error, failed.url)) from failed.error
    except Exception:
        if state.debug:
            raise
        return None


def _print(state: State, lines: list[Line]) -> None:
    """Print a fast-path answer; a failure (a closed pipe) reads as it does under run_async."""
    try:
        emit(lines, stdout)
    except Exception as exc:
        if state.debug:
            raise
        raise CommandFailed(describe(exc, state.url_for_errors())) from exc


def _on_graph(state: State, answer: Callable[[Any], list[str]]) -> list[str]:
    """``answer(graph)`` on the revision graph read from the files (api/reading.py), else on
    Alembic's ``ScriptDirectory`` (the revision files run), whose errors are the ones shown."""
    from ..api import reading

    def fast(settings: Settings) -> list[str] | None:
        graph = reading.graph(settings)
        return None if graph is None else answer(graph)

    texts = _fast(state, fast)
    if texts is not None:
        return texts

    async def through_alembic(state: State) -> list[str]:
        from ..api.migrator import alembic_lookup
        from ..graph.text import IndicatorUnavailable

        script = state.migrator(database=False).script_directory()
        try:
            return alembic_lookup(lambda: answer(script))
        except IndicatorUnavailable as exc:
            raise CommandFailed(
                f"history --indicate-current is not available with this Alembic: {exc}"
            ) from exc

    lines: list[str] = run_async(through_alembic)()
    return lines


def _database_at(state: State) -> tuple[tuple[str, ...], str]:
    """The revisions the database is at, and its URL as shown: api/reading.py's answer, else
    the Migrator's (which knows the URL a project's own env.py chose)."""
    from ..api import reading
    from ..tables.read import display_url

    def fast(settings: Settings) -> tuple[str, ...] | None:
        state.announce_database(settings)
        return reading.current(settings)

    revisions = _fast(state, fast)  # bad settings: the Migrator's path says what is wrong
    if revisions is not None:
        return revisions, display_url(state.settings().url)

    async def through_migrator(state: State) -> tuple[tuple[str, ...], str]:
        migrator = state.migrator()
        return await migrator.current(), display_url(migrator.url)

    found: tuple[tuple[str, ...], str] = run_async(through_migrator)()
    return found


def _write(state: State, texts: list[str]) -> None:
    """Print what Alembic's command would print, as its ``Config.print_stdout`` writes it."""
    from ..graph.text import write

    try:
        write(texts)
    except Exception as exc:
        if state.debug:
            raise
        raise CommandFailed(describe(exc, state.url_for_errors())) from exc


@cli.command()
@click.option("-v", "--verbose", is_flag=True)
@click.pass_obj
def current(state: State, verbose: bool) -> None:
    """Show the revision(s) the database is at, as 'alembic current' does."""
    from ..graph import text

    revisions, url = _database_at(state)
    texts = _on_graph(state, lambda graph: text.current(graph, revisions, verbose=verbose, url=url))
    _write(state, texts)
    if not texts and not state.quiet:  # Alembic prints nothing at all: say it on stderr
        sys.stderr.write("base (no revision applied)\n")  # plain text: rich is not imported


@cli.command()
@click.option("-r", "--rev-range", help="start:end")
@click.option("-v", "--verbose", is_flag=True)
@click.option("-i", "--indicate-current", is_flag=True, help="Mark the revisions the database is at.")
@click.pass_obj
def history(state: State, rev_range: str | None, verbose: bool, indicate_current: bool) -> None:
    """List the revisions, newest first, as 'alembic history' does."""
    from ..graph import text

    try:
        base, head = parse_rev_range(rev_range)
    except AsyncMigrateError as exc:
        raise CommandFailed(str(exc)) from exc
    if indicate_current or "current" in (base, head):
        # ``-r current:``/``-r :current`` start or end the walk at the database's revisions;
        # ``-i`` marks them " (current)"
        revisions, _ = _database_at(state)
        marked = revisions if indicate_current else ()
        lower = revisions if base == "current" else base
        upper = revisions if head == "current" else head
        texts = _on_graph(
            state, lambda graph: text.history(graph, lower, upper, verbose=verbose, current=marked)
        )
    else:
        texts = _on_graph(state, lambda graph: text.history(graph, base, head, verbose=verbose))
    _write(state, texts)


@cli.command()
@click.option("-v", "--verbose", is_flag=True)
@click.option("--resolve-dependencies", is_flag=True, help="Treat dependencies as down revisions.")
@click.pass_obj
def heads(state: State, verbose: bool, resolve_dependencies: bool) -> None:
    """List the head revisions, as 'alembic heads' does."""
    from ..graph import text

    _write(
        state,
        _on_graph(
            state,
            lambda graph: text.heads(graph, verbose=verbose, resolve_dependencies=resolve_dependencies),
        ),
    )


@cli.command()
@click.option("-v", "--verbose", is_flag=True)
@click.pass_obj
def branches(state: State, verbose: bool) -> None:
    """List the branch points and where they lead, as 'alembic branches' does."""
    from ..graph import text

    _write(state, _on_graph(state, lambda graph: text.branches(graph, verbose=verbose)))


@cli.command()
@click.argument("revision")
@click.pass_obj
def show(state: State, revision: str) -> None:
    """Show a revision, as 'alembic show' does."""
    from ..graph import text

    shown: str | tuple[str, ...] = _database_at(state)[0] if revision == "current" else revision
    _write(state, _on_graph(state, lambda graph: text.show(graph, shown)))


@cli.command()
@click.pass_obj
def status(state: State) -> None:
    """Show applied and pending revisions, and what 'upgrade head' would run."""
    from ..api import reading

    def fast(settings: Settings) -> Status | None:
        state.announce_database(settings)
        return reading.status(settings)

    result = _fast(state, fast)
    if result is not None:
        _print(state, _status_lines(result, state.settings()))
    else:
        _status_through_migrator()


@run_async
async def _status_through_migrator(state: State) -> None:
    migrator = state.migrator()
    result = await migrator.status()
    # the URL in use: a project's own env.py may have named it (alembic.ini holding a placeholder)
    emit(_status_lines(result, migrator.settings.with_url(migrator.url)), stdout)


def _status_lines(result: Status, settings: Settings) -> list[Line]:
    from ..tables.read import display_url

    lines = [
        Line(("Database: ", RAW), (display_url(settings.url), ESCAPED)),
        Line.text(f"Current:  {', '.join(mark_heads(result.current, result.heads)) or 'base (empty)'}"),
        Line.text(f"Heads:    {', '.join(result.heads) or '(no revisions)'}"),
        Line.text(f"\nApplied ({len(result.applied)}):"),
    ]
    for info in result.applied:
        lines.append(
            Line(
                ("  ", RAW),
                ("[green]", STYLE),
                ("✓", RAW),
                ("[/green]", STYLE),
                (f" {info.revision}  ", RAW),
                (info.message, ESCAPED),
            )
        )
    if result.unknown:
        unknown = f"In the database but not in the scripts: {', '.join(result.unknown)}"
        lines.append(Line(("\n", RAW), ("[red]", STYLE), (unknown, RAW), ("[/red]", STYLE)))
    for problem in result.problems:
        if problem.kind == "not-checked":  # integrity.NOT_CHECKED: what could not be verified
            text = ("? not verified: ", RAW), (problem.message, ESCAPED)
            lines.append(Line(("[yellow]", STYLE), *text, ("[/yellow]", STYLE)))
        else:
            lines.append(Line(("[red]", STYLE), ("! ", RAW), (problem.message, ESCAPED), ("[/red]", STYLE)))
    refusal = _upgrade_head_refuses(result)
    if refusal:
        lines.append(Line(("\n", RAW), ("[yellow]", STYLE), (refusal, ESCAPED), ("[/yellow]", STYLE)))
    if result.pending:
        if result.unknown:
            runs = "as far as the history table tells"
        elif refusal:
            runs = "'upgrade heads' would run, in order"
        else:
            runs = "'upgrade head' would run, in order"
        lines.append(Line.text(f"\nPending ({len(result.pending)}), {runs}:"))
        for info in result.pending:
            lines.append(
                Line(
                    ("  ", RAW),
                    ("[yellow]", STYLE),
                    ("→", RAW),
                    ("[/yellow]", STYLE),
                    (f" {info.revision}  ", RAW),
                    (info.message, ESCAPED),
                )
            )
    elif not refusal:
        lines.append(Line.text("\nUp to date: nothing pending."))
    return lines


def _upgrade_head_refuses(result: Status) -> str | None:
    """Why ``upgrade head`` would refuse to run, as status says it (None: it would run)."""
    if result.unknown:
        return f"'upgrade head' would refuse: {current_file_gone(result.unknown)}"
    if len(result.heads) > 1 and result.pending:
        return (
            f"'upgrade head' would refuse: {len(result.heads)} heads ({', '.join(result.heads)});"
            " merge them ('asyncmigrate merge heads -m \"merge\"') or run 'upgrade heads'"
        )
    return None
