"""Alembic's version-row UPDATE, rendered from a template instead of built and compiled anew.

To move the version row, Alembic builds a new ``update()`` construct per revision with both
revision ids inlined as literal SQL, so SQLAlchemy's compiled-statement cache misses every time:
about a tenth of the client's time on an upgrade of 500 small revisions. For runs we drive, the
construct is compiled once with placeholders, and each revision's UPDATE is that exact text with
its ids put in. It goes out as driver SQL; on our asyncpg engines as one simple-query round trip
that also carries the revision's history row (apply/direct_statements.py).

Everything Alembic does around it stays as it is: the heads it tracks, the check that exactly
one row changed and its error. Offline (``--sql``) runs, and any migration context we did not
enable, take Alembic's own path. Alembic's method is replaced only while a run of ours is in
:func:`enable`'s block, and put back after (internals/alembic.py).
"""

from __future__ import annotations

import contextlib
from typing import Any

from alembic import util
from sqlalchemy import literal_column

from ..internals import alembic as alembic_internals

#: Attribute on a MigrationContext whose version UPDATEs go through :func:`_update_version`.
_TEMPLATE_ATTR = "_asyncmigrate_version_update"
_TO = "asyncmigrate-to-revision"
_FROM = "asyncmigrate-from-revision"


class VersionUpdate:
    """Alembic's UPDATE of one version table for one dialect, split around the two ids."""

    def __init__(self, migration_context: Any) -> None:
        # the version table as Alembic's MigrationContext builds it (public hook of the impl)
        version = migration_context.impl.version_table_impl(
            version_table=migration_context.version_table,
            version_table_schema=migration_context.version_table_schema,
            version_table_pk=migration_context.opts.get("version_table_pk", True),
        )
        construct = (
            version.update()
            .values(version_num=literal_column(f"'{_TO}'"))
            .where(version.c.version_num == literal_column(f"'{_FROM}'"))
        )
        text = str(construct.compile(dialect=migration_context.dialect))
        before_to, rest = text.split(_TO, 1)
        between, after_from = rest.split(_FROM, 1)
        self._parts = (before_to, between, after_from)
        self.table = (version.name, version.schema)

    def sql(self, from_: str, to_: str) -> str:
        """The statement Alembic would send to move the version row from ``from_`` to ``to_``."""
        before_to, between, after_from = self._parts
        return f"{before_to}{to_}{between}{from_}{after_from}"


def enable(migration_context: Any) -> contextlib.AbstractContextManager[Any]:
    """In the returned block, send this (online) context's version UPDATEs from the template."""
    if migration_context.as_sql or migration_context.connection is None:
        return contextlib.nullcontext()
    setattr(migration_context, _TEMPLATE_ATTR, VersionUpdate(migration_context))
    return alembic_internals.version_update_hook(_update_version)


def _update_version(self: Any, from_: str, to_: str) -> None:
    """``HeadMaintainer._update_version`` with the statement from the template, when enabled."""
    from ..apply.direct_statements import update_version_row

    context = self.context
    template: VersionUpdate | None = getattr(context, _TEMPLATE_ATTR, None)
    connection = context.connection
    if template is None or context.as_sql or connection is None:
        alembic_internals.alembic_update_version(self, from_, to_)
        return
    assert to_ not in self.heads
    self.heads.remove(from_)
    self.heads.add(to_)

    sql = template.sql(from_, to_)
    rowcount = update_version_row(connection, sql, template.table)
    if rowcount is None:
        rowcount = connection.exec_driver_sql(sql).rowcount
    if context.dialect.supports_sane_rowcount and rowcount != 1:
        raise util.CommandError(
            "Online migration expected to match one "
            f"row when updating '{from_}' to '{to_}' in '{context.version_table}'; "
            f"{rowcount} found"
        )
