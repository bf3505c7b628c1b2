"""drop-not-null: (advisory) readers may not expect NULLs once the column allows them.

## What it flags

``ALTER COLUMN ... DROP NOT NULL`` (``alter_column(..., nullable=True)``) on an existing table.

## Why

PostgreSQL: the lock is brief and nothing is rewritten, so this is only advisory; but code of
the running release (and other consumers of the table: reports, exports) may assume the column
is never NULL, and break on the first NULL written.

## Example

```python
op.alter_column("users", "email", nullable=True)
```

## Fix

Make sure every reader handles NULL before deploying, then say so on the line:

```python
op.alter_column(
    "users", "email", nullable=True
)  # asyncmigrate: ignore[drop-not-null] readers handle NULL since release 2.3
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
        if pg.is_cmd(cmd, "AT_DropNotNull"):
            yield Hit(
                f"{pg.relation_name(statement.node)}.{cmd.name} may now hold NULL; code of the running"
                " release may not expect it (the lock itself is brief)",
                "# make sure every reader handles NULL before deploying this",
                statement=statement,
            )


RULE = Rule(
    "drop-not-null", Severity.ADVISORY, "DROP NOT NULL", POSTGRESQL, check, group="Backward compatibility"
)
