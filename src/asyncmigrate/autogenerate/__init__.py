"""What asyncmigrate adds to Alembic's autogenerate: renames a model declares (``renames.py``);
PostgreSQL enum types created, changed and dropped with the models (``enums.py``); views,
materialized views, functions, triggers and policies declared beside the models (``objects.py``,
PostgreSQL); and no false differences (``defaults.py``, ``keys.py``, ``indexes.py``, ...).

A project's own ``env.py`` turns all of it on with one call::

    from asyncmigrate.autogenerate import autogenerate_plugins

    context.configure(connection=connection, target_metadata=metadata,
                      autogenerate_plugins=autogenerate_plugins())
"""

from __future__ import annotations

from .enums import RENAMED_VALUES
from .objects import Function, Policy, Trigger, View, declare
from .plugins import autogenerate_plugins
from .renames import RENAMED_FROM, declared_renames

__all__ = [
    "RENAMED_FROM",
    "RENAMED_VALUES",
    "Function",
    "Policy",
    "Trigger",
    "View",
    "autogenerate_plugins",
    "declare",
    "declared_renames",
]
