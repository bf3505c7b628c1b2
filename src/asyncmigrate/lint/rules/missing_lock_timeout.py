"""missing-lock-timeout: a heavy lock requested with no lock_timeout.

## What it flags

Only when the project turned asyncmigrate's per-revision ``lock_timeout`` off (``lock_timeout =
0`` in ``[tool.asyncmigrate]``; the default is 5 s): the first statement of the revision that
locks an existing table (``ALTER TABLE``, a non-concurrent ``CREATE INDEX``, ``DROP``, a
rename, ``CREATE TRIGGER``, ``TRUNCATE``, ``CLUSTER``) before any ``SET lock_timeout`` of its
own. One finding per revision.

## Why

PostgreSQL: a lock request waits behind every transaction already holding a conflicting lock,
and while an ACCESS EXCLUSIVE request waits, every later query on the table, reads included,
queues behind it. One long-running query is enough to turn a millisecond ALTER into minutes of
downtime. A ``lock_timeout`` makes the migration give up (and asyncmigrate retry) instead.

## Example

```python timeouts=off
op.add_column("users", sa.Column("bio", sa.Text()))
```

## Fix

Keep asyncmigrate's ``lock_timeout`` on (``[tool.asyncmigrate] lock_timeout = "5s"``, retried
with ``attempts``), or set one in the revision before the first lock:

```python timeouts=off
op.execute("SET LOCAL lock_timeout = '5s'")
op.add_column("users", sa.Column("bio", sa.Text()))
```
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
