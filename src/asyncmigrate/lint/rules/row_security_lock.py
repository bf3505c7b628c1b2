"""row-security-lock: a policy or row-level security changed on an existing (busy) table.

## What it flags

``CREATE POLICY``, ``ALTER POLICY``, ``DROP POLICY`` and ``ALTER TABLE ... ENABLE`` (``DISABLE``,
``FORCE``, ``NO FORCE``) ``ROW LEVEL SECURITY`` on a table that this revision did not create.

## Why

PostgreSQL: each takes an ACCESS EXCLUSIVE lock on the table. It is brief once granted, but
reads and writes wait while it is held, and the request queues behind every long transaction
on the table, with every later query queued behind it. Enabling row-level security on a table
without a policy that lets the application's role through also hides every row from it. A
warning, not an error: there is no lock-free way, only a safer way to wait.

## Example

```python
op.execute("CREATE POLICY own_notes ON notes FOR SELECT USING (owner = current_user)")
```

## Fix

Fail fast instead of queueing (retry later, at a quiet time), and say on the line that you did:

```python
op.execute("SET LOCAL lock_timeout = '2s'")
op.execute(
    "CREATE POLICY own_notes ON notes FOR SELECT USING (owner = current_user)"
)  # asyncmigrate: ignore[row-security-lock] lock_timeout set above
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_ROW_SECURITY = {
    "AT_EnableRowSecurity": "ENABLE ROW LEVEL SECURITY",
    "AT_DisableRowSecurity": "DISABLE ROW LEVEL SECURITY",
    "AT_ForceRowSecurity": "FORCE ROW LEVEL SECURITY",
    "AT_NoForceRowSecurity": "NO FORCE ROW LEVEL SECURITY",
}


def _hit(table: str | None, what: str, statement: Any) -> Hit:
    return Hit(
        f"{what} takes an ACCESS EXCLUSIVE lock on {table!r}: reads and writes wait, and the request"
        " queues behind long transactions",
        "op.execute(\"SET LOCAL lock_timeout = '2s'\")  # fail fast instead of queueing",
        statement=statement,
    )


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("CreatePolicyStmt", "AlterPolicyStmt"):
        table = statement.node.table
        if not ctx.is_new_table(table, statement.seq):
            what = "CREATE POLICY" if statement.kind == "CreatePolicyStmt" else "ALTER POLICY"
            yield _hit(".".join(part for part in (table.schemaname, table.relname) if part), what, statement)
    for statement in ctx.parsed("DropStmt"):
        if pg.enum_name(statement.node.removeType) != "OBJECT_POLICY":
            continue
        for names in statement.node.objects or ():
            table = ".".join(pg.dotted(names)[:-1])
            if not ctx.is_new_table(table, statement.seq):
                yield _hit(table, "DROP POLICY", statement)
    for statement, cmd in ctx.alter_commands():
        for subtype, what in _ROW_SECURITY.items():
            if pg.is_cmd(cmd, subtype):
                yield _hit(pg.relation_name(statement.node), what, statement)


RULE = Rule(
    "row-security-lock",
    Severity.WARNING,
    "a policy or row-level security changed on an existing table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
