"""truncate-cascade: ``TRUNCATE ... CASCADE`` empties every table that references this one.

## What it flags

Any ``TRUNCATE ... CASCADE``.

## Why

PostgreSQL: ``CASCADE`` also truncates every table with a foreign key to the named ones, and the
tables referencing those, recursively, without listing them: a migration meant to reset one
lookup table can empty ``orders``. It also takes an ACCESS EXCLUSIVE lock on every table it
reaches.

## Example

```python
op.execute("TRUNCATE users CASCADE")
```

## Fix

Name every table you mean to empty; without ``CASCADE`` PostgreSQL refuses if a referencing
table is left out, instead of emptying it:

```python
op.execute("TRUNCATE users, sessions")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("TruncateStmt"):
        if pg.enum_name(statement.node.behavior) != "DROP_CASCADE":
            continue
        tables = ", ".join(r.relname for r in statement.node.relations or ())
        yield Hit(
            f"TRUNCATE {tables} CASCADE silently empties every table with a foreign key to it, not"
            " just the ones named",
            f'op.execute("TRUNCATE {tables}, <each referencing table you mean to empty>")',
            statement=statement,
        )


RULE = Rule(
    "truncate-cascade",
    Severity.ERROR,
    "TRUNCATE ... CASCADE",
    POSTGRESQL,
    check,
    group="Backward compatibility",
)
