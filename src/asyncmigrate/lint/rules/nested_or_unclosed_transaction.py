"""nested-or-unclosed-transaction: explicit BEGIN/COMMIT/ROLLBACK inside a revision."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("TransactionStmt"):
        kind = pg.transaction_kind(statement.node)
        if not statement.explicit or kind not in ("BEGIN", "START", "COMMIT", "ROLLBACK"):
            continue
        yield Hit(
            f"an explicit {kind} inside the revision fights Alembic's own transaction: work is"
            " committed early, or the version row is written outside it",
            "with op.get_context().autocommit_block():\n"
            "    ...  # statements that must run outside a transaction",
            statement=statement,
        )


RULE = Rule(
    "nested-or-unclosed-transaction",
    Severity.ERROR,
    "explicit BEGIN/COMMIT in a revision",
    POSTGRESQL,
    check,
    group="Transaction mode",
)
