"""The ``asyncmigrate`` command line: one module per command group over :class:`Migrator`."""

from .main import main

__all__ = ["main"]
