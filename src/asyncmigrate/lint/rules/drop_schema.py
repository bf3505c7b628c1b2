"""drop-schema: ``DROP SCHEMA`` / ``DROP DATABASE``.

## What it flags

Any ``DROP SCHEMA`` or ``DROP DATABASE`` statement.

## Why

PostgreSQL: it removes every table, view, function and row in the schema (with ``CASCADE``) or
the whole database, in one statement that cannot be undone; a downgrade cannot bring the data
back.

## Example

```python
op.execute("DROP SCHEMA legacy CASCADE")
```

## Fix

Drop what the schema contains explicitly, table by table, each after the code stopped using it
(each is then judged by ``drop-table``), and the empty schema last:

```text
op.drop_table("orders", schema="legacy")   # in a release after the code stopped using it
op.execute("DROP SCHEMA legacy")           # RESTRICT: fails if anything is left
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("DropStmt", "DropdbStmt"):
        if statement.kind == "DropStmt" and pg.enum_name(statement.node.removeType) != "OBJECT_SCHEMA":
            continue
        yield Hit(
            "dropping a schema or database removes every object and row in it",
            "# drop what it contains explicitly, table by table, after the code stopped using it",
            statement=statement,
        )


RULE = Rule(
    "drop-schema",
    Severity.WARNING,
    "DROP SCHEMA or DROP DATABASE",
    POSTGRESQL,
    check,
    group="Backward compatibility",
)
