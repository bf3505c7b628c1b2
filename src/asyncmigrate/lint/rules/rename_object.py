"""rename-object: renaming an enum value, a schema, a type or another object clients use.

## What it flags

``ALTER TYPE ... RENAME VALUE`` and any ``RENAME`` of an object other than a column, a table, an
index or a table constraint (those have their own rules or are harmless): schemas, types,
views, sequences, functions and so on. A type renamed out of the way of a new one of its own name
(the recipe that recreates an enum without some values) keeps its name for clients: not flagged
(the column rewrites are, by ``column-type-change``).

## Why

PostgreSQL: the running release still writes or compares the old name (an enum value in an
``INSERT``, a view or function it calls), and those statements fail as soon as the migration
commits.

## Example

```python
op.execute("ALTER TYPE order_status RENAME VALUE 'done' TO 'completed'")
```

## Fix

Add the new name beside the old one, handle both in code, backfill, and remove the old name in
a later release:

```python
with op.get_context().autocommit_block():
    op.execute("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'completed'")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_COVERED = frozenset({"OBJECT_COLUMN", "OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_TABCONSTRAINT"})


def check(ctx: RevisionContext) -> Iterator[Hit]:
    kept, _stand_ins = pg.recreated_types(ctx)
    for statement in ctx.parsed("RenameStmt", "AlterEnumStmt"):
        node = statement.node
        if statement.kind == "AlterEnumStmt":
            if not node.oldVal:
                continue
            what = f"enum value {node.oldVal!r} of {'.'.join(pg.dotted(node.typeName))}"
        else:
            kind = pg.enum_name(node.renameType)
            if kind in _COVERED or (kind == "OBJECT_TYPE" and tuple(pg.dotted(node.object)) in kept):
                continue
            what = kind.removeprefix("OBJECT_").lower()
        yield Hit(
            f"renaming the {what} breaks running code that still writes or compares the old name",
            "# add the new name alongside the old one, handle both in code, backfill,\n"
            "# and remove the old name in a later release",
            statement=statement,
        )


RULE = Rule(
    "rename-object",
    Severity.WARNING,
    "RENAME of an enum value, schema or type",
    POSTGRESQL,
    check,
    group="Backward compatibility",
)
