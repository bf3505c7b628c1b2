"""What asyncmigrate adds to Alembic's autogenerate: renames a model declares
(``renames.py``), PostgreSQL enum types created, changed and dropped with the models (``enums.py``).

A project's own ``env.py`` turns all of it on with one call::

    from asyncmigrate.autogenerate import autogenerate_plugins

    context.configure(connection=connection, target_metadata=metadata,
                      autogenerate_plugins=autogenerate_plugins())
"""

from __future__ import annotations

from .enums import RENAMED_VALUES
from .plugins import autogenerate_plugins
from .renames import RENAMED_FROM, declared_renames

__all__ = ["RENAMED_FROM", "RENAMED_VALUES", "autogenerate_plugins", "declared_renames"]
