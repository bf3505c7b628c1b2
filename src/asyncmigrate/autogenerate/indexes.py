"""An index the database has exactly as the model declares it, not read as dropped and re-added.

SQLAlchemy's SQLite reflection returns an index's columns without their order (``DESC``) and
without expressions, so Alembic compares a model's ``Index("ix", "a", text("b DESC"))`` with
``["a", "b"]`` and writes the index as dropped and created again on every autogenerate (mlflow's
``idx_mcp_server_versions_latest``). Where the database keeps the statement that made an index
(SQLite), that statement is compared with the one the model's index compiles to; the same
statement means no change.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import CreateIndex

from .plugins import drop_emptied_tables

__all__ = ["PLUGIN_NAME"]

log = logging.getLogger(__name__)

PLUGIN_NAME = "asyncmigrate.indexes"


def _plain(statement: str) -> str:
    """A CREATE INDEX statement without quoting, spacing or case differences."""
    statement = re.sub(r'["`\[\]]', "", statement)
    statement = re.sub(r"\s*([(),])\s*", r"\1", statement)
    return re.sub(r"\s+", " ", statement).strip().lower()


def _same_index(
    autogen_context: Any, modify: ops.ModifyTableOps, drop: ops.DropIndexOp, create: ops.CreateIndexOp
) -> bool:
    from ..dialects import for_backend

    connection = autogen_context.connection
    kept = for_backend(connection.dialect.name).index_sql(connection, modify.schema, drop.index_name)
    if kept is None:
        return False
    try:
        model = str(CreateIndex(create.to_index()).compile(dialect=connection.dialect))
    except SQLAlchemyError:
        return False
    return _plain(kept) == _plain(model)


def _keep_unchanged_indexes(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> PriorityDispatchResult:
    if autogen_context.connection is None:
        return PriorityDispatchResult.CONTINUE
    for modify in [op for op in upgrade_ops.ops if isinstance(op, ops.ModifyTableOps)]:
        drops = {op.index_name: op for op in modify.ops if isinstance(op, ops.DropIndexOp)}
        same: set[int] = set()
        for create in [op for op in modify.ops if isinstance(op, ops.CreateIndexOp)]:
            drop = drops.get(create.index_name) if create.index_name else None
            if drop is not None and _same_index(autogen_context, modify, drop, create):
                same |= {id(drop), id(create)}
                log.info("Index %r is in the database as the model declares it: unchanged", create.index_name)
        if same:
            modify.ops = [op for op in modify.ops if id(op) not in same]
    drop_emptied_tables(upgrade_ops)
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(
        _keep_unchanged_indexes, "autogenerate", priority=DispatchPriority.LAST
    )
