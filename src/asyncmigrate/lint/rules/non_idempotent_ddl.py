"""non-idempotent-ddl: DDL outside a transaction without IF [NOT] EXISTS.

Outside a transaction a failure leaves part of the work done (a failed CREATE INDEX
CONCURRENTLY leaves an INVALID index), and the rerun then fails on "already exists".
``asyncmigrate upgrade`` drops such INVALID leftovers before retrying; plain alembic does not.
A CREATE INDEX that the revision prepares with ``DROP INDEX IF EXISTS`` of the same name is
rerunnable: the rerun drops the leftover first.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    cleared: set[str] = set()  # indexes this revision drops IF EXISTS before it creates them
    for statement in ctx.parsed("IndexStmt", "DropStmt", "AlterEnumStmt"):
        node = statement.node
        dropped_index = statement.kind == "DropStmt" and pg.enum_name(node.removeType) == "OBJECT_INDEX"
        if dropped_index and node.missing_ok:
            cleared.update(pg.dotted(names)[-1] for names in node.objects or ())
        if statement.transaction is not None:
            continue
        if statement.kind == "AlterEnumStmt":
            robust = node.skipIfNewValExists or bool(node.oldVal)
        elif statement.kind == "IndexStmt":
            robust = node.if_not_exists or node.idxname in cleared
        else:
            robust = node.missing_ok
        if not robust:
            yield Hit(
                "this runs outside a transaction: if it fails half-way, a rerun fails on the leftover",
                "op.create_index(..., postgresql_concurrently=True, if_not_exists=True)\n"
                "op.drop_index(..., postgresql_concurrently=True, if_exists=True)\n"
                "op.execute(\"ALTER TYPE ... ADD VALUE IF NOT EXISTS '...'\")",
                statement=statement,
            )


RULE = Rule(
    "non-idempotent-ddl",
    Severity.WARNING,
    "DDL in autocommit without IF [NOT] EXISTS",
    POSTGRESQL,
    check,
    group="Operational hygiene",
)
