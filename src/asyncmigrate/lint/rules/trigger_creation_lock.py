"""trigger-creation-lock: ``CREATE TRIGGER`` on an existing (busy) table."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("CreateTrigStmt"):
        table = pg.relation_name(statement.node)
        if ctx.is_new_table(statement.node.relation, statement.seq):
            continue
        yield Hit(
            f"CREATE TRIGGER takes a SHARE ROW EXCLUSIVE lock on {table!r}: writes wait, and the"
            " request queues behind long transactions",
            "op.execute(\"SET LOCAL lock_timeout = '2s'\")  # fail fast instead of queueing\n"
            f'op.execute("CREATE TRIGGER ... ON {table} ...")',
            statement=statement,
        )


RULE = Rule(
    "trigger-creation-lock",
    Severity.WARNING,
    "CREATE TRIGGER on an existing table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
