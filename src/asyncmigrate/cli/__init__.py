"""The ``asyncmigrate`` command line: one module per command group over :class:`Migrator`.

``main`` is imported on call, so library code may use :mod:`asyncmigrate.cli.process` without
loading the commands.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    """Console entry point (see :func:`asyncmigrate.cli.main.main`)."""
    from .main import main as run

    run(argv)
