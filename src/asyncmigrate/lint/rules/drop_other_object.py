"""drop-other-object: (advisory) DROP VIEW/FUNCTION/TYPE/SEQUENCE/DOMAIN/EXTENSION.

## What it flags

A ``DROP`` of any object other than a table, an index or a schema (those have their own rules):
views, materialized views, functions, procedures, types, sequences, domains, extensions,
triggers and so on; not the old copy of a type the revision renamed out of the way and created
again under its own name (no client knows the stand-in's name).

## Why

PostgreSQL: clients of the running release (or other database objects, with ``CASCADE``) may
still use the object, and fail as soon as it is gone. Advisory: many such drops are clean-ups of
objects nothing uses any more. A view, materialized view, function, trigger or policy that the
same revision creates again after the drop (as autogenerate writes a changed one) is not
flagged: in the revision's transaction, no client sees it gone.

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

A view dropped to be created again with other columns (and the views reading it around it) is
not flagged:

```python
op.execute("DROP VIEW active_users")
op.execute("CREATE OR REPLACE VIEW active_users AS SELECT id, name, email FROM users")
```
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_COVERED = frozenset({"OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_SCHEMA"})


#: The statement that creates an object of each kind, and where its name is in it.
_CREATES: dict[str, tuple[str, Callable[[Any], str]]] = {
    "OBJECT_VIEW": ("ViewStmt", lambda node: node.view.relname),
    "OBJECT_MATVIEW": ("CreateTableAsStmt", lambda node: node.into.rel.relname),
    "OBJECT_FUNCTION": ("CreateFunctionStmt", lambda node: pg.dotted(node.funcname)[-1]),
    "OBJECT_TRIGGER": ("CreateTrigStmt", lambda node: node.trigname),
    "OBJECT_POLICY": ("CreatePolicyStmt", lambda node: node.policy_name),
}


def _dropped_names(node: Any) -> list[str]:
    names = []
    for item in node.objects or ():
        parts = getattr(item, "objname", item)  # a function: ObjectWithArgs
        if isinstance(parts, list | tuple):
            names.append(pg.dotted(parts)[-1])
        else:
            names.append(getattr(parts, "sval", str(parts)))
    return names


def _created_again(ctx: RevisionContext, statement: Any, kind: str) -> bool:
    """Every object the statement drops is created again later in the revision."""
    if kind not in _CREATES:
        return False
    create_kind, name_of = _CREATES[kind]
    created = {name_of(later.node) for later in ctx.parsed(create_kind) if later.seq > statement.seq}
    names = _dropped_names(statement.node)
    return bool(names) and all(name in created for name in names)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    _kept, stand_ins = pg.recreated_types(ctx)
    for statement in ctx.parsed("DropStmt"):
        kind = pg.enum_name(statement.node.removeType)
        if kind in _COVERED or _created_again(ctx, statement, kind):
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
