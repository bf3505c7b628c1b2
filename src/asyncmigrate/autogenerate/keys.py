"""What a primary key implies, not read as a change.

A primary key's columns are NOT NULL on PostgreSQL, MySQL and MariaDB whatever the model says;
a model that declares one ``nullable=True`` (cinder's ``encryption.encryption_id``) gets an
``alter_column(nullable=True)`` from Alembic on every autogenerate, which the database cannot
apply. And a UNIQUE constraint on exactly the primary key's columns (``unique=True`` beside
``primary_key=True``, nbgrader's ``course.id``) is one PostgreSQL does not keep as a constraint of
its own: Alembic writes it as added every time (alembic #793). Both are left out here; a unique
constraint on other columns, and a nullable change of a column outside the key, are compared as
before.
"""

from __future__ import annotations

import logging
from typing import Any

from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import Column, UniqueConstraint

from .plugins import drop_emptied_tables

__all__ = ["PLUGIN_NAME"]

log = logging.getLogger(__name__)

PLUGIN_NAME = "asyncmigrate.keys"


def _key_is_not_null(
    autogen_context: Any,
    alter: ops.AlterColumnOp,
    schema: str | None,
    tname: str,
    cname: str,
    conn_col: Column[Any],
    metadata_col: Column[Any],
) -> PriorityDispatchResult:
    if metadata_col.primary_key and metadata_col.nullable and conn_col.nullable is False:
        alter.existing_nullable = False
        log.info("Column '%s.%s' is in the primary key: NOT NULL whatever the model says", tname, cname)
        return PriorityDispatchResult.STOP
    return PriorityDispatchResult.CONTINUE


def _unique_on_the_key(op: ops.MigrateOperation, key_columns: dict[tuple[str | None, str], set[str]]) -> bool:
    if not isinstance(op, ops.AddConstraintOp) or op.constraint_type != "unique":
        return False
    constraint = op.to_constraint()
    if not isinstance(constraint, UniqueConstraint) or constraint.table is None:
        return False
    table = constraint.table
    columns = {column.name for column in constraint.columns}
    return bool(columns) and columns == key_columns.get((table.schema, table.name))


def _drop_uniques_on_the_key(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> PriorityDispatchResult:
    if autogen_context.metadata is None:
        return PriorityDispatchResult.CONTINUE
    key_columns = {
        (table.schema, table.name): {column.name for column in table.primary_key.columns}
        for table in autogen_context.sorted_tables
    }
    for modify in [op for op in upgrade_ops.ops if isinstance(op, ops.ModifyTableOps)]:
        kept = [op for op in modify.ops if not _unique_on_the_key(op, key_columns)]
        if len(kept) != len(modify.ops):
            log.info(
                "Table %r: a UNIQUE on its primary key's columns is the key itself, not added",
                modify.table_name,
            )
            modify.ops = kept
    drop_emptied_tables(upgrade_ops)
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(
        _key_is_not_null, "column", "nullable", priority=DispatchPriority.FIRST
    )
    plugin.add_autogenerate_comparator(
        _drop_uniques_on_the_key, "autogenerate", priority=DispatchPriority.LAST
    )
