"""non-idempotent-ddl: DDL outside a transaction without IF [NOT] EXISTS.

Outside a transaction a failure leaves part of the work done (a failed CREATE INDEX
CONCURRENTLY leaves an INVALID index), and the rerun then fails on "already exists".
``asyncmigrate upgrade`` drops such INVALID leftovers before retrying; plain alembic does not.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("IndexStmt", "DropStmt", "AlterEnumStmt"):
        if statement.transaction is not None:
            continue
        node = statement.node
        if statement.kind == "AlterEnumStmt":
            robust = node.skipIfNewValExists or bool(node.oldVal)
        else:
            robust = node.if_not_exists if statement.kind == "IndexStmt" else node.missing_ok
        if not robust:
            yield Hit(
                "this runs outside a transaction: if it fails half-way, a rerun fails on the leftover",
                "op.create_index(..., postgresql_concurrently=True, if_not_exists=True)\n"
                "op.drop_index(..., postgresql_concurrently=True, if_exists=True)\n"
                "op.execute(\"ALTER TYPE ... ADD VALUE IF NOT EXISTS '...'\")",
                statement=statement,
            )


RULE = Rule(
    "non-idempotent-ddl", Severity.WARNING, "DDL in autocommit without IF [NOT] EXISTS", POSTGRESQL, check
)
