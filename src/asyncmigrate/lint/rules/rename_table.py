"""rename-table: renaming a table breaks the running release's queries.

## What it flags

``op.rename_table`` (or raw ``ALTER TABLE ... RENAME TO`` on PostgreSQL) of an existing table,
unless the same revision creates a view with the old name.

## Why

Every instance of the previous release still queries the old name and fails with "relation does
not exist" as soon as the migration commits. On PostgreSQL the rename takes a brief ACCESS
EXCLUSIVE lock.

## Example

```python
op.rename_table("accounts", "customers")
```

## Fix

Keep ``__tablename__`` and rename only the class; or rename and keep the old name working with a
view in the same transaction (a simple ``SELECT *`` view is updatable on PostgreSQL), dropped in
a later release:

```python
op.rename_table("accounts", "customers")
op.execute("CREATE VIEW accounts AS SELECT * FROM customers")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    views = {s.node.view.relname for s in ctx.parsed("ViewStmt")}
    for change in schema_changes(ctx):
        if change.kind != "rename_table":
            continue
        if change.table in views:
            continue  # an updatable view keeps the old name working
        yield Hit(
            f"renaming {change.table!r} to {change.new_name!r} breaks every running instance that"
            " still queries the old name",
            "# keep __tablename__ and rename only the class; or rename and keep the old name alive:\n"
            f'op.rename_table("{change.table}", "{change.new_name}")\n'
            f'op.execute("CREATE VIEW {change.table} AS SELECT * FROM {change.new_name}")',
            statement=change.statement,
            op=change.op,
        )


RULE = Rule(
    "rename-table", Severity.WARNING, "RENAME TABLE", ALL_DIALECTS, check, group="Backward compatibility"
)
