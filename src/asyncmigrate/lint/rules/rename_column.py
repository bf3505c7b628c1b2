"""rename-column: renaming a column breaks the running release's queries the moment it commits.

## What it flags

``op.alter_column(..., new_column_name=...)`` / ``batch_op.alter_column(...)`` (or raw ``RENAME
COLUMN`` on PostgreSQL) of an existing column. Not flagged: a column the same revision added
earlier.

## Why

Every instance of the previous release still uses the old name in its queries, and they fail
with "column does not exist" as soon as the migration commits, until the deploy has replaced
every instance. On PostgreSQL the rename takes a brief ACCESS EXCLUSIVE lock.

## Example

```python
op.alter_column("users", "nick", new_column_name="nickname")
```

## Fix

Rename only the Python attribute and keep the column name:

```python models
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    nickname: Mapped[str] = mapped_column("nick")
```

Or expand and contract: add the new column, write both, backfill, switch reads, then drop the
old one in a later release.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for change in schema_changes(ctx):
        if change.kind == "rename_column":
            yield Hit(
                f"renaming {change.table}.{change.column} to {change.new_name} breaks every running"
                " instance that still uses the old name, as soon as the migration commits",
                "# rename only the Python attribute and keep the column:\n"
                f'{change.new_name} = mapped_column("{change.column}", ...)\n'
                "# or: add the new column, write both, backfill, switch reads, drop the old one",
                statement=change.statement,
                op=change.op,
            )


RULE = Rule(
    "rename-column", Severity.WARNING, "RENAME COLUMN", ALL_DIALECTS, check, group="Backward compatibility"
)
