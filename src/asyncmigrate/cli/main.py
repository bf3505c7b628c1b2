"""The console entry point: run one command in a process of its own.

Each command lives in the module of its group (``apply``, ``read``, ``author``, ``verify``,
``test``, ``lint``, ``project``), over one :class:`~asyncmigrate.Migrator` method; ``base``
holds what they share. Heavy modules (the API, rich, asyncio) are imported on first use.
"""

from __future__ import annotations

import sys
import warnings

import click

from . import apply, author, lint, process, project, read, test, verify  # noqa: F401  (register the commands)
from .base import Interrupted, cli
from .process import freeze_heap, plain_mako_errors


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


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    if argv is None:  # this process is the command's own
        from .process import own

        own()  # check may pause the collector here (never in a host app: process.py)
        plain_mako_errors()
        # A parent's file is gone: Alembic warns, then fails; the error says it in one line.
        warnings.filterwarnings("ignore", message="Revision .* is not present", category=UserWarning)
    try:
        _run_standalone(argv)
    except SystemExit as done:
        if argv is None and process.app_code_ran:
            _exit_past_leftover_threads(done.code)
        raise
    finally:
        if argv is None:  # the process exits now (click's standalone mode)
            freeze_heap()  # leave the heap to the OS


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
