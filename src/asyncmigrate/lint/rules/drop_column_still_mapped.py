"""drop-column-still-mapped: dropping a column the project's current models still map.

## What it flags

A dropped column (as in ``drop-column``) that the project's current SQLAlchemy models still map
on that table. Needs the models: the linter loads them from ``[tool.asyncmigrate]``; without
them this rule is silent.

## Why

This is not only the previous release breaking: the release that ships this very migration
still maps the column, and SQLAlchemy selects every mapped column, so every query for that model
fails with "column does not exist" right after the migration, on every database.

## Example

```python models
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    nickname: Mapped[str]
```

```python
op.drop_column("users", "nickname")
```

## Fix

Remove the column from the model first and deploy that release; drop it in a later revision,
when the models no longer map it:

```python models
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
```

```python
op.drop_column("users", "nickname")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for change in schema_changes(ctx):
        if change.kind != "drop_column" or change.column not in (ctx.mapped_columns(change.table) or set()):
            continue
        yield Hit(
            f"{change.table}.{change.column} is dropped but the current models still map it: every"
            " query SQLAlchemy issues for that model will fail after this migration",
            "# remove the column from the model first and deploy that release;\n"
            f'# drop it in a later revision: op.drop_column("{change.table}", "{change.column}")',
            statement=change.statement,
            op=change.op,
        )


RULE = Rule(
    "drop-column-still-mapped",
    Severity.ERROR,
    "DROP COLUMN of a column the models still map",
    ALL_DIALECTS,
    check,
    group="Backward compatibility",
)
