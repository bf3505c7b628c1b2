"""empty-downgrade: ``downgrade()`` is only ``pass`` although ``upgrade()`` changes the schema.

## What it flags

A revision whose module-level ``downgrade()`` does nothing (only ``pass``, ``...`` or a
docstring) while its ``upgrade()`` creates, drops or renames schema objects: any ``op.*`` call
other than ``execute``, ``bulk_insert``, ``alter_column`` and ``batch_alter_table`` not guarded
by ``if_exists`` / ``if_not_exists``, or ``op.execute`` of unguarded ``CREATE`` / ``DROP`` /
``ALTER ... ADD/RENAME/DROP``. Not flagged: data changes, ``alter_column`` (keeping a widened
type on downgrade is a common, safe choice), guarded DDL, and a ``downgrade()`` that raises.

## Why

A downgrade through this revision reports success and moves the version row back while the
objects stay as the upgrade left them; the next ``upgrade`` then fails on "already exists" (or
"does not exist"), and nothing said the step was one-way. The same on every database.

## Example

```python
op.add_column("users", sa.Column("bio", sa.Text()))
```

```python downgrade
pass
```

## Fix

Write the reverse operations, or make the one-way step explicit by raising (or silence it on the
``pass`` line with ``# asyncmigrate: ignore[empty-downgrade] <why>``):

```python
op.add_column("users", sa.Column("bio", sa.Text()))
```

```python downgrade
op.drop_column("users", "bio")
```
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache

from ..context import RevisionContext
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule

#: Calls a rerun of the upgrade repeats without failing.
_RERUNNABLE = frozenset({"execute", "bulk_insert", "alter_column", "batch_alter_table"})
_DDL = re.compile(
    r"^\s*(CREATE|DROP)\b|^\s*ALTER\b.*(\b(ADD|RENAME)\b|\bDROP\s+(COLUMN|CONSTRAINT)\b)",
    re.IGNORECASE | re.DOTALL,
)
_GUARDED = re.compile(r"\bIF\s+(NOT\s+)?EXISTS\b", re.IGNORECASE)


@cache
def empty_downgrade_line(source: str) -> int | None:
    """The ``pass`` line of a module-level ``def downgrade()`` whose body is only ``pass``, a
    docstring or ``...`` (an ignore comment goes there); None when it does something, raises,
    or is not there."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "downgrade":
            return node.body[-1].lineno if all(_does_nothing(stmt) for stmt in node.body) else None
    return None


def _does_nothing(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))


def _leaves_objects(ctx: RevisionContext) -> bool:
    """Creates, drops or renames something, so a rerun after an empty downgrade fails."""
    if any(call.name not in _RERUNNABLE and not _guarded(call.kwargs) for call in ctx.ops):
        return True
    return any(
        statement.op is not None
        and statement.op.name == "execute"
        and _DDL.match(statement.text)
        and not _GUARDED.search(statement.text)
        for statement in ctx.statements
    )


def _guarded(kwargs: dict[str, object]) -> bool:
    return kwargs.get("if_not_exists") is True or kwargs.get("if_exists") is True


def check(ctx: RevisionContext) -> Iterator[Hit]:
    if ctx.direction != "upgrade" or not ctx.source:
        return
    line = empty_downgrade_line(ctx.source)
    if line is None or not _leaves_objects(ctx):
        return
    yield Hit(
        "downgrade() does nothing although upgrade() creates, drops or renames schema objects: a"
        " downgrade through this revision reports success, and the next upgrade fails on what it left",
        "def downgrade():\n"
        "    ...  # the reverse of upgrade(): op.drop_column(...), op.drop_index(...), ...\n"
        "# or, when it cannot be undone, say so:\n"
        "def downgrade():\n"
        '    raise NotImplementedError("this revision cannot be downgraded")',
        source_line=line,
    )


RULE = Rule(
    "empty-downgrade",
    Severity.WARNING,
    "downgrade() is empty after an upgrade() that creates, drops or renames",
    ALL_DIALECTS,
    check,
    group="History",
)
