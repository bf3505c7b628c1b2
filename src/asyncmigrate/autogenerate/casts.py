"""Type changes the database cannot convert by itself, written with the ``USING`` they need.

Alembic writes a changed column type as ``op.alter_column(..., type_=...)`` alone. PostgreSQL
converts only where an implicit or assignment cast exists, so a column changed from a string
to an enum, an integer, a date, a UUID or JSON stops the upgrade ("column cannot be cast
automatically to type ..."; Alembic's docs leave ``postgresql_using`` to the author). This
plugin asks the database which changes it converts by itself and adds
``postgresql_using="col::new_type"`` (``col::text::enum`` for an enum) to the others, in both
directions. A value the new type cannot hold still fails the upgrade, naming the value, and
rolls it back: no data is silently changed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from alembic.autogenerate import renderers
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import ARRAY, Enum
from sqlalchemy.exc import CompileError
from sqlalchemy.types import TypeDecorator, TypeEngine

if TYPE_CHECKING:
    from ..dialects import Database

__all__ = ["PLUGIN_NAME", "AlterColumnUsing"]

log = logging.getLogger(__name__)

PLUGIN_NAME = "asyncmigrate.casts"


class AlterColumnUsing(ops.AlterColumnOp):
    """``op.alter_column`` with ``postgresql_using``: ``using`` for this direction, ``using_back``
    for the reverse (each None where the database converts by itself)."""

    using: str | None = None
    using_back: str | None = None

    def reverse(self) -> ops.AlterColumnOp:
        back = super().reverse()  # of this class: Alembic's reverse keeps it
        back.using, back.using_back = self.using_back, self.using  # type: ignore[attr-defined]
        return back


@renderers.dispatch_for(AlterColumnUsing)
def _render_alter_column_using(autogen_context: Any, op: AlterColumnUsing) -> str:
    text: str = renderers.dispatch(ops.AlterColumnOp)(autogen_context, op)
    if op.using is None or not text.endswith(")"):
        return text
    return f"{text[:-1]},\n{' ' * 11}postgresql_using={op.using!r})"


def _enum_cast(type_: TypeEngine[Any], dialect: Any) -> str | None:
    """``::text`` for a native enum, ``::text[]`` for an ARRAY of one (what reaches an enum), else
    None."""
    while isinstance(type_, TypeDecorator):
        type_ = type_.load_dialect_impl(dialect)
    if isinstance(type_, ARRAY):
        return "::text[]" if _enum_cast(type_.item_type, dialect) else None
    return "::text" if isinstance(type_, Enum) and type_.native_enum else None


def _using(
    autogen_context: Any, database: Database, column: str, old: TypeEngine[Any], new: TypeEngine[Any]
) -> str | None:
    """The ``USING`` that converts ``column`` from ``old`` to ``new``, or None if none is needed."""
    connection = autogen_context.connection
    dialect = connection.dialect
    try:
        old_sql, new_sql = old.compile(dialect=dialect), new.compile(dialect=dialect)
    except CompileError:  # a type the dialect cannot spell (a reflected NullType): left to Alembic
        return None
    if old_sql == new_sql:
        return None
    quoted = dialect.identifier_preparer.quote(column)
    via_text = _enum_cast(new, dialect)
    if via_text:
        return f"{quoted}{via_text}::{new_sql}"  # no cast reaches an enum from anything but text
    if database.casts_by_itself(connection, old_sql, new_sql) is False:
        return f"{quoted}::{new_sql}"
    return None


def _add_using(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> PriorityDispatchResult:
    from ..dialects import for_backend

    connection = autogen_context.connection
    database = for_backend(connection.dialect.name) if connection is not None else None
    if database is None or not database.alter_type_using:
        return PriorityDispatchResult.CONTINUE
    for table_ops in upgrade_ops.ops:
        if not isinstance(table_ops, ops.ModifyTableOps):
            continue
        for op in table_ops.ops:
            # Alembic's own alter only (a rename of ours keeps the class that reverses its name)
            if type(op) is not ops.AlterColumnOp or op.modify_type is None or op.existing_type is None:
                continue
            using = _using(autogen_context, database, op.column_name, op.existing_type, op.modify_type)
            using_back = _using(autogen_context, database, op.column_name, op.modify_type, op.existing_type)
            if using is None and using_back is None:
                continue
            op.__class__ = AlterColumnUsing
            cast(AlterColumnUsing, op).using, cast(AlterColumnUsing, op).using_back = using, using_back
            log.info(
                "Type change of %s.%s: written with postgresql_using=%r", op.table_name, op.column_name, using
            )
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(_add_using, "autogenerate", priority=DispatchPriority.LAST)
