"""What every command shares: the global options and their :class:`State`, the consoles,
one-line failures, the signal handling of commands that write, and the ``cli`` group itself."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__
from ..config import URL_EMBEDDED, Settings, load_settings
from ..errors import describe
from .progress import LIVE_LINE, setup_logging

if TYPE_CHECKING:
    from ..api.migrator import Migrator


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
async def interrupt_on_signals(migrator: Migrator) -> AsyncIterator[None]:
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
    setup_logging(quiet)
