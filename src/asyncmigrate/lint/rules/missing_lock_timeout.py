"""missing-lock-timeout: a heavy lock requested with no lock_timeout.

A waiting ACCESS EXCLUSIVE request blocks every query queued behind it. asyncmigrate sets
``lock_timeout`` per revision from config (default 5 s), so this only fires when the project
turned it off and the revision does not set it itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext
from ..model import Severity
from ..statements import Statement
from . import POSTGRESQL, Hit, Rule

LOCKING = frozenset(
    {"AlterTableStmt", "IndexStmt", "DropStmt", "RenameStmt", "CreateTrigStmt", "TruncateStmt", "ClusterStmt"}
)


def first_unguarded_lock(ctx: RevisionContext, setting: str) -> Statement | None:
    """The first locking statement on an existing table before ``SET <setting>``, if any."""
    for statement in ctx.parsed():
        if statement.kind == "VariableSetStmt" and statement.node.name == setting:
            return None
        if statement.kind not in LOCKING:
            continue
        if statement.kind == "IndexStmt" and statement.node.concurrent:
            continue
        relation = getattr(statement.node, "relation", None)
        if relation is None or not ctx.is_new_table(relation, statement.seq):
            return statement
    return None


def check(ctx: RevisionContext) -> Iterator[Hit]:
    if ctx.lock_timeout_configured:
        return
    statement = first_unguarded_lock(ctx, "lock_timeout")
    if statement is not None:
        yield Hit(
            "this revision takes heavy locks with no lock_timeout: while it waits for its lock, every"
            " query on the table queues behind it",
            '# pyproject.toml: [tool.asyncmigrate] lock_timeout = "5s" (retried by asyncmigrate)\n'
            "op.execute(\"SET LOCAL lock_timeout = '5s'\")  # or per revision",
            statement=statement,
        )


RULE = Rule(
    "missing-lock-timeout",
    Severity.WARNING,
    "heavy lock without lock_timeout",
    POSTGRESQL,
    check,
    group="Operational hygiene",
)
