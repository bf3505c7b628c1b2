"""drop-other-object: (advisory) DROP VIEW/FUNCTION/TYPE/SEQUENCE/DOMAIN/EXTENSION.

## What it flags

A ``DROP`` of any object other than a table, an index or a schema (those have their own rules):
views, materialized views, functions, procedures, types, sequences, domains, extensions,
triggers and so on; not the old copy of a type the revision renamed out of the way and created
again under its own name (no client knows the stand-in's name).

## Why

PostgreSQL: clients of the running release (or other database objects, with ``CASCADE``) may
still use the object, and fail as soon as it is gone. Advisory: many such drops are clean-ups of
objects nothing uses any more.

## Example

```python
op.execute("DROP VIEW active_users")
```

## Fix

Drop it in a release after the code stopped using it. Nothing in the migration changes; once
that is true, say so:

```python
op.execute("DROP VIEW active_users")  # asyncmigrate: ignore[drop-other-object] unused since 2.1
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_COVERED = frozenset({"OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_SCHEMA"})


def check(ctx: RevisionContext) -> Iterator[Hit]:
    _kept, stand_ins = pg.recreated_types(ctx)
    for statement in ctx.parsed("DropStmt"):
        kind = pg.enum_name(statement.node.removeType)
        if kind in _COVERED:
            continue
        if kind == "OBJECT_TYPE" and all(
            tuple(pg.dotted(getattr(name, "names", name))) in stand_ins for name in statement.node.objects
        ):
            continue  # the old copy of a type this revision recreated: no client knows its name
        yield Hit(
            f"dropping a {kind.removeprefix('OBJECT_').lower()} breaks clients that still use it",
            "# drop it in a release after the code stopped using it",
            statement=statement,
        )


RULE = Rule(
    "drop-other-object",
    Severity.ADVISORY,
    "DROP of a view, function, type...",
    POSTGRESQL,
    check,
    group="Backward compatibility",
)
