"""What asyncmigrate adds to Alembic's autogenerate: renames a model declares (``renames.py``).

A project's own ``env.py`` turns it on with one call::

    from asyncmigrate.autogenerate import declared_renames

    context.configure(connection=connection, target_metadata=metadata,
                      autogenerate_plugins=declared_renames())
"""

from __future__ import annotations

from .renames import RENAMED_FROM, declared_renames

__all__ = ["RENAMED_FROM", "declared_renames"]
