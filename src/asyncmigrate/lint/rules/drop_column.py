"""drop-column: ``DROP COLUMN`` of an existing column.

## What it flags

``op.drop_column`` / ``batch_op.drop_column`` (or raw ``ALTER TABLE ... DROP COLUMN`` on
PostgreSQL) of a column of an existing table. Not flagged: tables created in the same revision,
and a column that the same revision added earlier (no running release knows it).

## Why

Deploys are not atomic: while the migration runs and until every instance is replaced, the
previous release is still serving, and SQLAlchemy selects (and inserts) every mapped column, so
its queries fail with "column does not exist" the moment the drop commits. The data is gone too,
and a downgrade cannot bring it back. On PostgreSQL the drop itself also takes a brief ACCESS
EXCLUSIVE lock. ``drop-column-still-mapped`` is the error-level case where even the new release
still maps the column.

## Example

```python
op.drop_column("users", "nickname")
```

## Fix

Two releases: first stop using the column, then drop it.

```text
release 1: remove the attribute from the model (or make it deferred()) and deploy
release 2: op.drop_column("users", "nickname"), after a backup if the data matters
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for change in schema_changes(ctx):
        if change.kind != "drop_column":
            continue
        yield Hit(
            f"dropping {change.table}.{change.column} breaks instances of the previous release that"
            " still select or insert it (ORMs select every mapped column), and the data is gone",
            "# release 1: remove the attribute from the model (or make it deferred()) and deploy\n"
            f'# release 2: op.drop_column("{change.table}", "{change.column}")',
            statement=change.statement,
            op=change.op,
        )


RULE = Rule(
    "drop-column", Severity.WARNING, "DROP COLUMN", ALL_DIALECTS, check, group="Backward compatibility"
)
