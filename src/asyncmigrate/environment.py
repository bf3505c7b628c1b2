"""What an ``env.py`` written by ``asyncmigrate init`` imports: ``run_migrations``.

A stable name for env.py files already in projects; the work is in
:mod:`asyncmigrate.apply.environment`.
"""

from .apply.environment import run_migrations

__all__ = ["run_migrations"]
