"""enum-value-used-same-transaction: ``ALTER TYPE ... ADD VALUE`` then using it before COMMIT.

PostgreSQL 12+ allows ADD VALUE in a transaction but rejects using the new value until commit
("unsafe use of new value"); before 12, ADD VALUE inside a transaction block fails outright.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def _recipe(type_name: str, value: str) -> str:
    return (
        "with op.get_context().autocommit_block():\n"
        f"    op.execute(\"ALTER TYPE {type_name} ADD VALUE IF NOT EXISTS '{value}'\")\n"
        "# use the new value in a later statement (after the block) or revision"
    )


def check(ctx: RevisionContext) -> Iterator[Hit]:
    added: list[tuple[int, str, str]] = []
    for statement in ctx.parsed():
        node = statement.node
        if statement.kind == "AlterEnumStmt" and node.newVal and not node.oldVal:
            type_name = ".".join(pg.dotted(node.typeName))
            if statement.transaction is not None and not ctx.version_at_least(12):
                yield Hit(
                    f"before PostgreSQL 12, ALTER TYPE {type_name} ADD VALUE cannot run inside a"
                    " transaction block: the migration fails",
                    _recipe(type_name, node.newVal),
                    statement=statement,
                )
            elif statement.transaction is not None:
                added.append((statement.transaction, type_name, node.newVal))
            continue
        for transaction, type_name, value in added:
            if statement.transaction == transaction and f"'{value}'" in statement.text:
                yield Hit(
                    f"the enum value {value!r} added to {type_name} is used before the transaction"
                    " that added it commits: PostgreSQL fails with 'unsafe use of new value'",
                    _recipe(type_name, value),
                    statement=statement,
                )


RULE = Rule(
    "enum-value-used-same-transaction",
    Severity.ERROR,
    "new enum value used in the transaction that added it",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
