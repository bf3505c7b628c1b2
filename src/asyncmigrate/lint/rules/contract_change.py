"""contract-change: (opt-in) changes to what existing clients see: SET DEFAULT, new enum values.

## What it flags

Off unless enabled in ``[tool.asyncmigrate.lint]``. A changed column default (``ALTER COLUMN
... SET DEFAULT`` or ``DROP DEFAULT``, from ``alter_column(..., server_default=...)``) on an
existing table, and ``ALTER TYPE ... ADD VALUE``.

## Why

PostgreSQL: neither locks for long, but both change what the running release sees: rows it
inserts without the column now store another value, and a reader that does not know the new
enum value may fail on it. Projects that deploy several services against one database turn this
rule on.

## Example

```python enable
op.alter_column("users", "status", server_default="pending")
```

## Fix

Deploy code that sets the value explicitly (or accepts the new enum value) first; then say so on
the line:

```python enable
op.alter_column(
    "users", "status", server_default="pending"
)  # asyncmigrate: ignore[contract-change] every writer sets status since 2.4
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, cmd in ctx.alter_commands():
        if pg.is_cmd(cmd, "AT_ColumnDefault"):
            yield Hit(
                f"changing the default of {pg.relation_name(statement.node)}.{cmd.name} changes what"
                " inserts from the running release store",
                "# make sure the running code sets the value explicitly, or agrees with the new default",
                statement=statement,
            )
    for statement in ctx.parsed("AlterEnumStmt"):
        if statement.node.newVal and not statement.node.oldVal:
            yield Hit(
                f"the new enum value {statement.node.newVal!r} may reach code that does not know it",
                "# deploy code that accepts the value before any writer uses it",
                statement=statement,
            )


RULE = Rule(
    "contract-change",
    Severity.ADVISORY,
    "a change to what existing clients see",
    POSTGRESQL,
    check,
    enabled_by_default=False,
    group="Backward compatibility",
)
