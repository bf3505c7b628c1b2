"""The ``asyncmigrate`` command line: a thin layer over :class:`asyncmigrate.Migrator`.

Each command parses its arguments, awaits one Migrator method in a loop of its own, and prints
the result. Failures a user can cause print one line on stderr and exit 1; ``--debug`` shows the
traceback instead.

The read-only commands (``heads``, ``history``, ``branches``, ``current``, ``status``) first try
a fast path that imports neither SQLAlchemy nor Alembic: the revision graph comes from the graph
cache (:mod:`asyncmigrate.graph.cache`) and an SQLite database is read with ``sqlite3``
(:mod:`asyncmigrate.tables.read`). When it cannot answer exactly as Alembic would, the command runs
through the Migrator as before. Heavy modules (the API, rich, asyncio) are imported on first use.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__
from ..config import URL_EMBEDDED, Settings, load_settings
from ..errors import AsyncMigrateError, describe
from ..graph.status import Status, parse_rev_range
from ..output.console import ESCAPED, RAW, STYLE, Line, emit

if TYPE_CHECKING:
    from ..api.migrator import ApplyResult, CheckResult, Migrator
    from ..graph.revisions import RevisionGraph


class _LazyConsole:
    """A rich Console created on first use: rich is not imported by commands that never print
    through it."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


def escape(text: str) -> str:
    """rich's markup escape, imported when needed."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


T = TypeVar("T")
stderr: Any = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)
stdout: Any = _LazyConsole(highlight=False, soft_wrap=True)


@dataclass
class State:
    """What the global options said; builds the Migrator on first use."""

    url: str | None
    config_file: str | None
    debug: bool
    quiet: bool
    #: ``--connect-timeout``, over the config's connect_timeout.
    connect_timeout: float | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _migrator: Migrator | None = field(default=None, repr=False)
    _announced: bool = False

    def settings(self) -> Settings:
        """Read once per command (``test all`` asks several times), warning once."""
        if self._settings is None:
            self._settings = load_settings(config_file=self.config_file, url=self.url)
            if self.connect_timeout is not None:
                self._settings = replace(self._settings, connect_timeout=self.connect_timeout)
            if self._settings.unknown_keys:
                stderr.print(
                    f"[yellow]warning:[/yellow] unknown keys in \\[tool.asyncmigrate]:"
                    f" {escape(', '.join(self._settings.unknown_keys))}"
                )
        return self._settings

    def migrator(self, *, database: bool = True) -> Migrator:
        if self._migrator is None:
            from ..api.migrator import Migrator

            self._migrator = Migrator(self.settings())
        if database:
            self.announce_database(self._migrator.settings)
        return self._migrator

    def announce_database(self, settings: Settings) -> None:
        """Say, every time, that the embedded SQLite default is in use; refuse it when nobody
        may be watching (no terminal, or CI) unless the project chose it (a deploy that lost
        DATABASE_URL would migrate a fresh file and report success)."""
        if settings.url_source != URL_EMBEDDED:
            return
        from ..config import embedded_file_shown, missing_url

        shown = embedded_file_shown(settings)
        reason = None if settings.embedded_sqlite else _unattended()
        if reason:
            raise CommandFailed(missing_url(settings, reason, shown))
        if self._migrator is not None:
            # somebody at a terminal was told: the migrator may use the file
            self._migrator.runner.embedded_confirmed = True
        if self._announced or (self.quiet and settings.embedded_sqlite):
            return
        self._announced = True
        if settings.embedded_sqlite:
            stderr.print(
                f"[dim]No database URL set: using the embedded SQLite database {escape(shown)}"
                " (embedded_sqlite = true)[/dim]"
            )
        else:
            stderr.print(
                f"[yellow]No database URL configured (DATABASE_URL, --url or \\[tool.asyncmigrate] url):"
                f" using the embedded SQLite database {escape(shown)}[/yellow]"
            )

    def url_for_errors(self) -> str | None:
        if self._migrator is not None:
            return self._migrator.url
        return self.url


def _unattended() -> str | None:
    """Why nobody may be watching this run (CI set, no terminal), or None on a terminal."""
    import os

    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return "CI set"
    try:
        if sys.stdin.isatty() and sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):  # closed or missing standard streams
        pass
    return "no terminal"


class CommandFailed(click.ClickException):
    """A failure already described in one line."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        stderr.print(f"[bold red]error:[/bold red] {escape(self.message)}")


class Interrupted(click.ClickException):
    """Stopped by a signal: one line on where the database is, exit 128 + the signal number."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click types it ClassVar; reads the instance's

    def show(self, file: Any = None) -> None:
        stderr.print(f"[bold yellow]{escape(self.message)}[/bold yellow]")


@contextlib.asynccontextmanager
async def _interrupt_on_signals(migrator: Migrator) -> AsyncIterator[None]:
    """While a command writes, SIGINT and SIGTERM stop it through :meth:`Migrator.interrupt`
    (the running revision rolled back, or finished where DDL commits as it runs), and the
    command then says where the database is and exits 130 or 143."""
    import asyncio
    import signal

    from ..api.migrator import MigrationInterrupted

    loop = asyncio.get_running_loop()
    received: list[signal.Signals] = []

    def on_signal(signum: signal.Signals) -> None:
        received.append(signum)
        if len(received) == 1 and migrator.interrupt(signum.name):
            loop.call_later(2.0, still_stopping)
        elif len(received) > 1:
            still_stopping()

    def still_stopping() -> None:
        if migrator.interrupt(received[0].name):  # still running: say why the wait
            LIVE_LINE.clear()
            stderr.print(
                "[yellow]stopping: the running revision is busy in its own Python code; it stops"
                " at its next statement (on MySQL/MariaDB, once it is done)[/yellow]"
            )

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, not the main thread
            continue
        installed.append(signum)
    try:
        yield
    except MigrationInterrupted as exc:
        raise Interrupted(str(exc), 128 + int(received[0]) if received else 130) from exc
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def run_async(fn: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
    """Run an async command body in its own loop and turn failures into one clear line."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import asyncio

        state: State = click.get_current_context().find_object(State)  # type: ignore[assignment]
        try:
            return asyncio.run(fn(state, *args, **kwargs))
        except (click.ClickException, click.exceptions.Exit):
            raise
        except KeyboardInterrupt:
            raise Interrupted("interrupted by SIGINT", 130) from None
        except Exception as exc:
            if state.debug:
                raise
            from ..api.migrator import missing_parent

            known = None
            if isinstance(exc, KeyError):  # a parent's file is gone (the settings loaded before)
                try:
                    known = missing_parent(exc, state.settings())
                except Exception:  # noqa: BLE001  (the error below says what failed)
                    known = None
            raise CommandFailed(str(known) if known else describe(exc, state.url_for_errors())) from exc

    return wrapper


#: Alembic's set-up chatter. "setup plugin" is logged when Alembic is first imported, which now
#: happens after logging is configured (the API is imported lazily).
_NOISE = ("Context impl", "Will assume", "setting up autogenerate plugin", "setup plugin")


class _ProgressHandler(logging.StreamHandler):
    """Alembic's progress lines on stderr, indented, each flushed as it comes, without its
    set-up chatter. What ``StreamHandler`` with a ``"  %(message)s"`` format and a filter would
    print, with the message formatted once per line instead of twice (one line per revision)."""

    _asyncmigrate = True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if message.startswith(_NOISE):
                return
            if record.exc_info or record.stack_info:
                message = self.format(record)
            else:
                message = f"  {message}"
            with LIVE_LINE.lock:  # the live line, if shown, goes first; never half of each
                LIVE_LINE.clear_unlocked()
                self.stream.write(message + self.terminator)
                self.flush()
        except Exception:
            self.handleError(record)


def _setup_logging(quiet: bool) -> None:
    """Show Alembic's progress lines ("Running upgrade a -> b", "Detected added column") on
    stderr, without its set-up chatter."""
    for name, level in (("alembic", logging.INFO), ("asyncmigrate", logging.INFO)):
        logger = logging.getLogger(name)
        if any(getattr(h, "_asyncmigrate", False) for h in logger.handlers):
            continue
        handler = _ProgressHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("  %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING if quiet else level)


#: The database drivers whose versions ``--version`` shows, when installed.
DRIVERS = ("asyncpg", "aiosqlite", "asyncmy", "psycopg", "psycopg2", "aiomysql", "pymysql", "mysqlclient")


def _print_version(ctx: click.Context) -> None:
    """asyncmigrate's version, then Alembic's, SQLAlchemy's and each installed driver's (read
    from the installed distributions, nothing imported): what a bug report needs."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    parts = [f"asyncmigrate {__version__}"]
    for name, shown in (("alembic", "Alembic"), ("sqlalchemy", "SQLAlchemy")):
        parts.append(f"{shown} {installed(name) or 'not installed'}")
    drivers = [f"{name} {found}" for name in DRIVERS if (found := installed(name))]
    parts.append(f"drivers: {', '.join(drivers) or 'none installed'}")
    click.echo(f"{parts[0]} ({', '.join(parts[1:])}, Python {sys.version.split()[0]})")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar=None, help="Database URL (overrides config and DATABASE_URL).")
@click.option(
    "-c",
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="pyproject.toml or alembic.ini to use (default: the nearest one).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Print less.")
@click.option(
    "--connect-timeout",
    type=click.FloatRange(min=0),
    help="Seconds to wait for the database server to answer (default 10; 0: the driver's own).",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _print_version(ctx) if value else None,
    help="Show the versions of asyncmigrate, Alembic, SQLAlchemy and the installed drivers.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    url: str | None,
    config_file: str | None,
    debug: bool,
    quiet: bool,
    connect_timeout: float | None,
) -> None:
    """Async-first schema migrations for SQLAlchemy, built on Alembic."""
    ctx.obj = State(
        url=url, config_file=config_file, debug=debug, quiet=quiet, connect_timeout=connect_timeout
    )
    _setup_logging(quiet)


# -- project set-up -----------------------------------------------------------------------------


@cli.command()
@click.argument("directory", default="migrations")
@click.option("--models", help="The package or module holding the models (default: guessed).")
@run_async
async def init(state: State, directory: str, models: str | None) -> None:
    """Create the migrations DIRECTORY and the [tool.asyncmigrate] table in pyproject.toml."""
    from ..scaffold import init_project

    project_dir = Path(state.config_file).parent if state.config_file else None
    result = init_project(directory, project_dir=project_dir, models=models)
    stdout.print(f"Created {escape(str(result.script_location))}")
    if result.wrote_table:
        stdout.print(f"Added \\[tool.asyncmigrate] to {escape(str(result.pyproject))}")
    if result.models:
        stdout.print(f"Models: {escape(result.models)}")
    else:
        stdout.print(
            '[yellow]No models package found: set models = "yourapp.models" in \\[tool.asyncmigrate][/yellow]'
        )


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
@run_async
async def revision(state: State, message: str | None, autogenerate: bool, **options: Any) -> None:
    """Write a new revision file."""
    migrator = state.migrator(database=autogenerate)
    paths = await migrator.revision(message, autogenerate=autogenerate, **options)
    for path in paths:
        stdout.print(f"Generated {escape(str(path))}")
    if autogenerate and paths:
        await _lint_new_revisions(state, paths)


async def _lint_new_revisions(state: State, paths: list[Any]) -> None:
    """Lint what autogenerate just wrote and show it; never blocks writing the file."""
    from ..lint.project import LintRequest

    try:
        report = await _lint(state, LintRequest(only_paths=[Path(p) for p in paths]))
    except Exception as exc:  # noqa: BLE001  (a lint failure must not hide the written revision)
        stderr.print(
            f"[yellow]warning:[/yellow] the new revision was not linted: {escape(describe(exc, None))}"
        )
        return
    if report.findings:
        stdout.print("[bold]Lint of the new revision[/bold] (review before applying):")
        from ..lint.output import render_human

        render_human(report, stdout)
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


# -- applying --------------------------------------------------------------------------------


def _mark_heads(revisions: tuple[str, ...], heads: tuple[str, ...]) -> list[str]:
    return [f"{rev} (head)" if rev in heads else rev for rev in revisions]


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
    _freeze_heap()  # the libraries just imported stay until exit
    async with _interrupt_on_signals(migrator):
        with _live_progress(migrator, state):
            try:
                result = await getattr(migrator, direction)(target, sql=sql, tag=tag, **safety)
            except OfflineMigrationFailed as failed:
                stdout.out(failed.sql, end="")  # what rendered before the failure, as Alembic prints it
                raise
    if sql:
        stdout.out(result.sql, end="")
        return
    _report(state, result)


class _LiveLine:
    """The one status line a terminal shows while a revision runs ("b2 running for 12s"): the
    progress handler clears it before a log line, so the two never mix."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.shown = False

    def show(self, text: str) -> None:
        with self.lock:
            sys.stderr.write(f"\r  {text}\x1b[K")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        with self.lock:
            self.clear_unlocked()

    def clear_unlocked(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


LIVE_LINE = _LiveLine()
#: Seconds a revision runs before the live line appears, and between its updates.
LIVE_AFTER, LIVE_EVERY = 2.0, 1.0


@contextlib.contextmanager
def _live_progress(migrator: Migrator, state: State) -> Iterator[None]:
    """On a terminal, show which revision is running and for how long once it takes more than
    a moment: a long revision otherwise shows nothing until it ends. A thread of its own, so
    it ticks while a revision keeps the event loop busy."""
    if state.quiet or not sys.stderr.isatty():
        yield
        return
    import threading

    done = threading.Event()

    def tick() -> None:
        while not done.wait(LIVE_EVERY / 4):
            running = migrator.running()
            if running is None or running[1] < LIVE_AFTER:
                LIVE_LINE.clear()
                continue
            revision, seconds = running
            minutes, rest = divmod(int(seconds), 60)
            elapsed = f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
            LIVE_LINE.show(f"{revision} running for {elapsed}")
            done.wait(LIVE_EVERY * 3 / 4)

    ticker = threading.Thread(target=tick, name="asyncmigrate-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        LIVE_LINE.clear()


def _report(state: State, result: ApplyResult) -> None:
    if state.quiet:
        return
    heads = result.heads
    where = ", ".join(_mark_heads(result.after, heads)) or "base (empty)"
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
    async with _interrupt_on_signals(migrator):
        result = await migrator.stamp(list(revisions), sql=sql, purge=purge, **_safety(options))
    if sql:
        stdout.out(result.sql, end="")
    else:
        stdout.print(f"Stamped the database at {', '.join(result.after) or 'base'}")


# -- looking ---------------------------------------------------------------------------------


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
        Line.text(f"Current:  {', '.join(_mark_heads(result.current, result.heads)) or 'base (empty)'}"),
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


@cli.group("test")
def test_group() -> None:
    """Test the migrations on a throwaway database (SQLite file, or a new database on the
    configured server): stairway, models, heads, no-trace, imports, all."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # hundreds of steps: report, not log


TEST_FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")


async def _on_scratch(state: State, check: Callable[[Migrator], Any]) -> Any:
    from ..api.migrator import Migrator
    from ..testing.scratch import scratch_database

    settings = state.settings()
    server = state.migrator().runner  # says (or refuses) the embedded default like any command
    await server.ensure_url()  # a project's own env.py may decide which server that is
    async with scratch_database(server.url, connect_timeout=settings.connect_timeout) as url:
        return await check(Migrator(settings.with_url(url)))


def _print_stairway(report: Any) -> None:
    from rich.table import Table

    table = Table("revision", "message", "result", "what failed", box=None, pad_edge=False)
    for result in report.results:
        colour = {"ok": "green", "failed": "red"}.get(result.status, "yellow")  # warning, skipped
        table.add_row(
            result.revision,
            escape(result.message),
            f"[{colour}]{result.status}[/{colour}]",
            escape("; ".join(result.problems)),
        )
    stdout.print(table)
    for result in report.failed:
        if result.diff:
            stdout.print(f"\n[bold]{result.revision}[/bold] ({escape(result.message)}):")
            for line in result.diff:
                stdout.print(f"  {escape(line)}")
    if report.stopped:
        stdout.print(f"\n[yellow]{escape(report.stopped)}[/yellow]")
    stdout.print(f"{report.walked} of {report.total} revisions walked, {len(report.failed)} flagged")


@test_group.command("stairway")
@TEST_FORMAT
@click.option(
    "--from-models",
    is_flag=True,
    help="Start at head from the models (create_all, stamp head) and walk down: for a project"
    " that makes a new database that way. The models: [tool.asyncmigrate] models, else the"
    " target_metadata its env.py passes to context.configure.",
)
@click.option(
    "--base-models",
    metavar="MODULE:ATTR",
    help="Make these tables with create_all before the first revision, then walk up: for a project"
    " that makes its initial tables that way and runs the whole history on them.",
)
@click.option(
    "--minimum-downgrade-revision",
    metavar="REV",
    help="Do not test the downgrade of REV nor of the revisions below it.",
)
@run_async
async def test_stairway(
    state: State,
    output_format: str,
    from_models: bool,
    base_models: str | None,
    minimum_downgrade_revision: str | None,
) -> None:
    """For every revision: upgrade, step down exactly it, compare the schema, upgrade again.

    \b
    Exit 0: every revision walked, none flagged.
    Exit 1: a revision's downgrade does not restore the schema, or raises.
    Exit 2: nothing flagged, but the walk stopped early: the history does not build from an
            empty database (try --from-models or --base-models), or the models do not make
            a database.
    """
    from functools import partial

    from ..testing import stairway

    if from_models and base_models:
        raise click.UsageError(
            "--from-models starts at head, --base-models before the first revision: not both"
        )
    check = partial(
        stairway,
        from_models=from_models,
        minimum_downgrade_revision=minimum_downgrade_revision,
        base_models=base_models,
    )
    report = await _on_scratch(state, check)
    if output_format == "json":
        stdout.out(json.dumps(report.as_dict(), indent=2))
    else:
        _print_stairway(report)
    raise click.exceptions.Exit(report.exit_code)


async def _run_checks(state: State, names: list[str], output_format: str) -> None:
    from ..api.migrator import Migrator
    from ..testing import checks

    async def run(name: str) -> checks.CheckReport:
        try:
            return await run_one(name)
        except AsyncMigrateError as exc:
            return checks.CheckReport(name, [str(exc)])

    async def run_one(name: str) -> checks.CheckReport:
        if name == "heads":
            return await checks.single_head(Migrator(state.settings()))
        if name == "imports":
            return checks.revisions_import(Migrator(state.settings()))
        function = {"models": checks.models_match_migrations, "no-trace": checks.downgrade_leaves_no_trace}
        return await _on_scratch(state, function[name])

    reports = [await run(name) for name in names]
    if output_format == "json":
        stdout.out(
            json.dumps([{"check": r.name, "ok": r.ok, "problems": r.problems} for r in reports], indent=2)
        )
    else:
        for report in reports:
            mark = "[green]ok[/green]" if report.ok else "[red]failed[/red]"
            stdout.print(f"{report.name}: {mark}")
            for problem in report.problems:
                stdout.print(f"  {escape(problem)}")
            if report.detail and not report.ok:
                stdout.print(escape(report.detail))
    if not all(r.ok for r in reports):
        raise click.exceptions.Exit(1)


for _name, _help in (
    ("models", "Upgrade an empty database to head; autogenerate must then find nothing."),
    ("heads", "The scripts must have a single head."),
    ("no-trace", "Upgrade to head then downgrade to base: the schema must be empty again."),
    ("imports", "Every revision file imports and has the attributes Alembic needs."),
):

    def _make(name: str) -> Callable[..., Any]:
        async def command(state: State, output_format: str) -> None:
            await _run_checks(state, [name], output_format)

        return command

    test_group.command(_name, help=_help)(TEST_FORMAT(run_async(_make(_name))))


@test_group.command("all")
@TEST_FORMAT
@run_async
async def test_all(state: State, output_format: str) -> None:
    """imports, heads, models, no-trace, then the stairway."""
    failed = False
    try:
        await _run_checks(state, ["imports", "heads", "models", "no-trace"], output_format)
    except click.exceptions.Exit:
        failed = True
    from ..testing import stairway

    report = await _on_scratch(state, stairway)
    if output_format == "json":
        stdout.out(json.dumps(report.as_dict(), indent=2))
    else:
        _print_stairway(report)
    if failed or not report.ok:
        raise click.exceptions.Exit(1)


async def _lint(state: State, request: Any) -> Any:
    """Lint through the Migrator; its notes (models not loaded, server silent) go to stderr."""
    # what the revisions (or the app code they import) print goes to stderr: stdout may carry
    # machine output. Only here: a Migrator awaited in an app leaves the app's sys.stdout alone.
    with contextlib.redirect_stdout(sys.stderr):
        report = await state.migrator(database=False).lint(request)
    if not state.quiet:
        for note in report.notes:
            stderr.print(f"[yellow]warning:[/yellow] {escape(note)}")
    return report


@cli.command()
@click.argument("rev_range", required=False)
@click.option("--since-ref", help="Lint only the revision files added or changed since this git ref.")
@click.option("--downgrade", is_flag=True, help="Lint downgrade() too.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["human", "json", "github", "sarif"]),
    default="human",
    show_default=True,
)
@click.option("--dialect", type=click.Choice(["postgresql", "mysql", "mariadb", "sqlite"]))
@click.option("--pg-version", help="PostgreSQL version to judge for (default: live server, config, newest).")
@click.option("--mysql-version", help="MySQL/MariaDB version to judge for.")
@click.option("--no-advisory", is_flag=True, help="Hide advisory notes in human output.")
@click.option("--list-rules", is_flag=True, help="List the rules (with --format json: as JSON) and exit.")
@click.option("--explain", "explain_rule", metavar="RULE", help="Print a rule's documentation and exit.")
@run_async
async def lint(
    state: State,
    rev_range: str | None,
    since_ref: str | None,
    downgrade: bool,
    output_format: str,
    dialect: str | None,
    pg_version: str | None,
    mysql_version: str | None,
    no_advisory: bool,
    list_rules: bool,
    explain_rule: str | None,
) -> None:
    """Check revisions for dangerous DDL (RANGE like abc123:head; default: all).

    Exit 1 when an error-level finding remains."""
    from ..lint import output
    from ..lint.model import Severity
    from ..lint.project import LintRequest

    if list_rules or explain_rule is not None:
        _lint_rule_docs(explain_rule, output_format)
        return
    global _APP_CODE_RAN
    _APP_CODE_RAN = True
    request = LintRequest(rev_range, since_ref, downgrade, dialect, pg_version, mysql_version)
    report = await _lint(state, request)
    if output_format == "json":
        stdout.out(output.render_json(report))
    elif output_format == "github":
        stdout.out(output.render_github(report))
    elif output_format == "sarif":
        stdout.out(output.render_sarif(report, __version__))
    else:
        output.render_human(report, stdout, show_advisory=not no_advisory)
    if any(f.severity is Severity.ERROR for f in report.findings):
        raise click.exceptions.Exit(1)


def _lint_rule_docs(rule_id: str | None, output_format: str) -> None:
    """``lint --explain RULE`` (Markdown, rendered on a terminal) or ``lint --list-rules``."""
    from ..lint import docs

    if rule_id is None:
        stdout.out(docs.rules_json() if output_format == "json" else "\n".join(docs.rules_table()))
        return
    try:
        text = docs.explain(docs.find_rule(rule_id))
    except docs.UnknownRule as unknown:
        failed = CommandFailed(str(unknown))
        failed.exit_code = 2  # type: ignore[misc]  # click types it ClassVar; reads the instance's
        raise failed from None
    if stdout.is_terminal:
        from rich.markdown import Markdown

        stdout.print(Markdown(text), soft_wrap=False)
    else:
        stdout.out(text.rstrip("\n"))


def _exit_past_leftover_threads(code: int | str | None) -> None:
    """Exit now if app code that a revision imported left a non-daemon thread running (a
    scheduler, an aiosqlite connection): the interpreter would wait for it forever after the
    report (or the error) was written."""
    import os
    import threading

    main_thread = threading.main_thread()
    if any(t.is_alive() and not t.daemon and t is not main_thread for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(code if isinstance(code, int) else 0 if code is None else 1)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--url", help="Run the steps on this database instead of the embedded SQLite one.")
@run_async
async def demo(state: State, directory: str | None, url: str | None) -> None:
    """Build the tutorial's project in DIRECTORY (default: a new temporary one) and run its
    steps on the embedded SQLite database (or on --url)."""
    from ..demo import run_demo

    await run_demo(directory, url=url or state.url, console=stdout)


#: Set by commands that import a project's revision files (and so its app code).
_APP_CODE_RAN = False


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    if argv is None:  # this process is the command's own
        from .process import own

        own()  # check may pause the collector here (never in a host app: process.py)
        _plain_mako_errors()
        # A parent's file is gone: Alembic warns, then fails; the error says it in one line.
        warnings.filterwarnings("ignore", message="Revision .* is not present", category=UserWarning)
    try:
        _run_standalone(argv)
    except SystemExit as done:
        if argv is None and _APP_CODE_RAN:
            _exit_past_leftover_threads(done.code)
        raise
    finally:
        if argv is None:  # the process exits now (click's standalone mode)
            _freeze_heap()  # leave the heap to the OS


def _run_standalone(argv: list[str] | None) -> None:
    """click's standalone mode, except that Ctrl-C in any command ends in one line and exit 130
    (click prints "Aborted!" and exits 1); commands that migrate say more (:class:`Interrupted`)."""
    try:
        code = cli.main(args=argv, prog_name="asyncmigrate", standalone_mode=False)
    except click.exceptions.Abort as abort:
        # click 8.2+ chains the KeyboardInterrupt as the cause; 8.1 raises ``from None``
        if isinstance(abort.__cause__ or abort.__context__, KeyboardInterrupt):
            Interrupted("interrupted by SIGINT", 130).show()
            sys.exit(130)
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as failed:
        failed.show()
        sys.exit(failed.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _plain_mako_errors() -> None:
    """Keep mako (which Alembic imports) from importing pygments.

    On import, mako loads pygments' lexers to colour the HTML error pages it can render: 2 MiB
    and ~20 ms in every process where pygments is installed, which includes every asyncmigrate
    install (rich depends on it). Alembic renders mako errors as plain text only, so the missing
    plugin changes nothing but that: mako installs its uncoloured fallback."""
    sys.modules.setdefault("mako.ext.pygmentplugin", None)  # type: ignore[arg-type]


def _freeze_heap() -> None:
    """Move every object alive now to the collector's permanent generation (``gc.freeze``);
    nothing is allocated for it. Two uses, both in the command's own process:

    * once Alembic and SQLAlchemy are imported for upgrade/downgrade: their modules live until
      the process exits, so the full collections of a long upgrade scan only what the command
      itself made (check does not: reflection.collector_paused manages the collector there);
    * just before the process exits: the interpreter then leaves the objects to the OS instead of
      a full collection and freeing every module's objects one by one (about 2 s after ``check``
      loaded 2000 models). The standard streams and logging handlers are still flushed."""
    import gc

    gc.freeze()
