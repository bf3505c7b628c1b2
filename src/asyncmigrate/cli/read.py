"""Reading: ``current``, ``history``, ``heads``, ``branches``, ``show``, ``status``, printed as
Alembic prints them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..config import URL_EMBEDDED, Settings
from ..errors import AsyncMigrateError, describe
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
    from ..graph.revisions import RevisionGraph


def mark_heads(revisions: tuple[str, ...], heads: tuple[str, ...]) -> list[str]:
    return [f"{rev} (head)" if rev in heads else rev for rev in revisions]


def _fast(state: State, answer: Callable[[Settings], T]) -> T | None:
    """``answer(settings)`` on the fast path, or None when it cannot answer exactly as Alembic
    would (or fails in any way: the Alembic path then reports the error in its own words).
    A database error (:class:`DatabaseFailed`) is reported as the Migrator would report it."""
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


class DatabaseFailed(Exception):
    """Reading the database failed on the fast path: the same error the Migrator would meet."""

    def __init__(self, error: Exception, url: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.url = url


def _read_database(settings: Settings, *, events: bool) -> Any:
    from ..graph.revisions import GraphUnavailable
    from ..tables.read import read_state

    if settings.url_source == URL_EMBEDDED and settings.alembic_ini is not None:
        raise GraphUnavailable("alembic.ini names no database: the project's env.py decides")
    try:
        return read_state(settings, events=events)
    except GraphUnavailable:
        raise
    except Exception as exc:
        raise DatabaseFailed(exc, settings.url) from exc


def _print(state: State, lines: list[Line]) -> None:
    """Print a fast-path answer; a failure (a closed pipe) reads as it does under run_async."""
    try:
        emit(lines, stdout)
    except Exception as exc:
        if state.debug:
            raise
        raise CommandFailed(describe(exc, state.url_for_errors())) from exc


def _graph(settings: Settings) -> RevisionGraph:
    from ..graph.cache import load_graph

    return load_graph(settings)


def _through_alembic(state: State, answer: Callable[[Any], list[str]]) -> list[str]:
    """``answer(script_directory)`` on Alembic's ``ScriptDirectory`` (the revision files run)."""

    async def call(state: State) -> list[str]:
        from ..api.migrator import alembic_lookup

        script = state.migrator(database=False).script_directory()
        return alembic_lookup(lambda: answer(script))

    lines: list[str] = run_async(call)()
    return lines


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
    texts = _fast(state, lambda settings: _fast_current(state, settings, verbose))
    if texts is None:
        texts = _current_through_alembic(verbose=verbose)
    _write(state, texts)
    if not texts and not state.quiet:  # Alembic prints nothing at all: say it on stderr
        sys.stderr.write("base (no revision applied)\n")  # plain text: rich is not imported


def _fast_current(state: State, settings: Settings, verbose: bool) -> list[str]:
    from ..graph import text as graphtext
    from ..tables.read import display_url

    state.announce_database(settings)
    revisions = _read_database(settings, events=False).current
    return graphtext.current(_graph(settings), revisions, verbose=verbose, url=display_url(settings.url))


@run_async
async def _current_through_alembic(state: State, verbose: bool) -> list[str]:
    from ..api.migrator import alembic_lookup
    from ..graph import text as graphtext
    from ..tables.read import display_url

    migrator = state.migrator()
    revisions = await migrator.current()
    script = migrator.script_directory()
    return alembic_lookup(
        lambda: graphtext.current(script, revisions, verbose=verbose, url=display_url(migrator.url))
    )


@cli.command()
@click.option("-r", "--rev-range", help="start:end")
@click.option("-v", "--verbose", is_flag=True)
@click.option("-i", "--indicate-current", is_flag=True, help="Mark the revisions the database is at.")
@click.pass_obj
def history(state: State, rev_range: str | None, verbose: bool, indicate_current: bool) -> None:
    """List the revisions, newest first, as 'alembic history' does."""
    from ..graph import text as graphtext

    try:
        base, head = parse_rev_range(rev_range)
    except AsyncMigrateError as exc:
        raise CommandFailed(str(exc)) from exc
    if indicate_current or "current" in (base, head):
        texts = _fast(
            state,
            lambda settings: _fast_history_current(state, settings, base, head, verbose, indicate_current),
        )
        if texts is None:
            texts = _history_current_through_alembic(base, head, verbose, indicate_current)
    else:
        texts = _fast(
            state, lambda settings: graphtext.history(_graph(settings), base, head, verbose=verbose)
        )
        if texts is None:
            texts = _through_alembic(
                state, lambda script: graphtext.history(script, base, head, verbose=verbose)
            )
    _write(state, texts)


def _fast_history_current(
    state: State, settings: Settings, base: str, head: str, verbose: bool, indicate: bool
) -> list[str]:
    graph = _graph(settings)
    state.announce_database(settings)
    revisions = _read_database(settings, events=False).current
    return _history_current(graph, revisions, base, head, verbose, indicate)


@run_async
async def _history_current_through_alembic(
    state: State, base: str, head: str, verbose: bool, indicate: bool
) -> list[str]:
    from ..api.migrator import alembic_lookup
    from ..graph.text import IndicatorUnavailable

    migrator = state.migrator()
    revisions = await migrator.current()
    script = migrator.script_directory()
    try:
        return alembic_lookup(lambda: _history_current(script, revisions, base, head, verbose, indicate))
    except IndicatorUnavailable as exc:
        raise CommandFailed(f"history --indicate-current is not available with this Alembic: {exc}") from exc


def _history_current(
    source: Any, revisions: tuple[str, ...], base: str, head: str, verbose: bool, indicate: bool
) -> list[str]:
    """``alembic history -r current:``/``-r :current`` (the walk starts or ends at the
    database's revisions) and ``-i`` (they are marked " (current)")."""
    from ..graph import text as graphtext

    marked = revisions if indicate else ()
    if head == "current":
        return graphtext.history(source, base, revisions, verbose=verbose, current=marked)
    if base == "current":
        return graphtext.history(source, revisions, head, verbose=verbose, current=marked)
    return graphtext.history(source, base, head, verbose=verbose, current=marked)


@cli.command()
@click.option("-v", "--verbose", is_flag=True)
@click.option("--resolve-dependencies", is_flag=True, help="Treat dependencies as down revisions.")
@click.pass_obj
def heads(state: State, verbose: bool, resolve_dependencies: bool) -> None:
    """List the head revisions, as 'alembic heads' does."""
    from ..graph import text as graphtext

    def answer(source: Any) -> list[str]:
        return graphtext.heads(source, verbose=verbose, resolve_dependencies=resolve_dependencies)

    texts = _fast(state, lambda settings: answer(_graph(settings)))
    _write(state, texts if texts is not None else _through_alembic(state, answer))


@cli.command()
@click.option("-v", "--verbose", is_flag=True)
@click.pass_obj
def branches(state: State, verbose: bool) -> None:
    """List the branch points and where they lead, as 'alembic branches' does."""
    from ..graph import text as graphtext

    def answer(source: Any) -> list[str]:
        return graphtext.branches(source, verbose=verbose)

    texts = _fast(state, lambda settings: answer(_graph(settings)))
    _write(state, texts if texts is not None else _through_alembic(state, answer))


@cli.command()
@click.argument("revision")
@click.pass_obj
def show(state: State, revision: str) -> None:
    """Show a revision, as 'alembic show' does."""
    from ..graph import text as graphtext

    if revision == "current":
        texts = _fast(state, lambda settings: _fast_show_current(state, settings))
        if texts is None:
            texts = _show_current_through_alembic()
    else:
        texts = _fast(state, lambda settings: graphtext.show(_graph(settings), revision))
        if texts is None:
            texts = _through_alembic(state, lambda script: graphtext.show(script, revision))
    _write(state, texts)


def _fast_show_current(state: State, settings: Settings) -> list[str]:
    from ..graph import text as graphtext

    state.announce_database(settings)
    revisions = _read_database(settings, events=False).current
    return graphtext.show(_graph(settings), revisions)


@run_async
async def _show_current_through_alembic(state: State) -> list[str]:
    from ..api.migrator import alembic_lookup
    from ..graph import text as graphtext

    migrator = state.migrator()
    revisions = await migrator.current()
    script = migrator.script_directory()
    return alembic_lookup(lambda: graphtext.show(script, revisions))


@cli.command()
@click.pass_obj
def status(state: State) -> None:
    """Show applied and pending revisions, and what 'upgrade head' would run."""
    result = _fast(state, lambda settings: _fast_status(state, settings))
    if result is not None:
        _print(state, _status_lines(result, state.settings()))
    else:
        _status_through_alembic()


def _fast_status(state: State, settings: Settings) -> Status:
    from ..graph.status import build_status
    from ..tables.history import live_revisions, unchecked, verify_history

    graph = _graph(settings)
    state.announce_database(settings)
    database = _read_database(settings, events=True)
    current, events = database.current, database.events
    problems = verify_history(graph, current, events)
    problems += unchecked(graph, current, events, settings.history_table)
    return build_status(graph, current, problems, live_revisions(events))


@run_async
async def _status_through_alembic(state: State) -> None:
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
        gone = ", ".join(result.unknown)
        return (
            f"'upgrade head' would refuse: the database is at {gone}, whose revision file is gone;"
            " restore the file, or stamp the database at a revision that exists"
            " ('asyncmigrate stamp --purge REV')"
        )
    if len(result.heads) > 1 and result.pending:
        return (
            f"'upgrade head' would refuse: {len(result.heads)} heads ({', '.join(result.heads)});"
            " merge them ('asyncmigrate merge heads -m \"merge\"') or run 'upgrade heads'"
        )
    return None
