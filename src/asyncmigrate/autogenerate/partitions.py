"""Partitions of a partitioned table left alone by autogenerate.

A model declares the partitioned table (``postgresql_partition_by``); its partitions are made
by a revision or by the database's own tooling (pg_partman) and no model declares them. Alembic
sees them as tables the models dropped and writes ``op.drop_table`` for each (alembic #539):
the next upgrade would delete the data they hold. This plugin takes those drops out. (A
partition a model does declare is compared as any table.)
"""

from __future__ import annotations

import logging
from typing import Any

from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult

__all__ = ["PLUGIN_NAME"]

log = logging.getLogger(__name__)

PLUGIN_NAME = "asyncmigrate.partitions"


def _leave_partitions(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> PriorityDispatchResult:
    from ..dialects import for_backend

    connection = autogen_context.connection
    if connection is None:
        return PriorityDispatchResult.CONTINUE
    database = for_backend(connection.dialect.name)
    default_schema = autogen_context.dialect.default_schema_name
    found: dict[str | None, set[str]] = {}

    def is_partition(op: Any) -> bool:
        if not isinstance(op, ops.DropTableOp):
            return False
        schema = None if op.schema == default_schema else op.schema
        if schema not in found:
            found[schema] = database.partitions(connection, schema)
        return op.table_name in found[schema]

    kept = []
    for op in upgrade_ops.ops:
        if is_partition(op):
            log.info(
                "Table %r is a partition of a partitioned table: not dropped", getattr(op, "table_name", op)
            )
        else:
            kept.append(op)
    upgrade_ops.ops = kept
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(_leave_partitions, "autogenerate", priority=DispatchPriority.LAST)
