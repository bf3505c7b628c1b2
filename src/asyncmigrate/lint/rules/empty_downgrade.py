"""empty-downgrade: ``downgrade()`` is only ``pass`` although ``upgrade()`` changes the schema.

``downgrade`` then reports success and moves the version row back while the schema keeps the
change: the next ``upgrade`` fails on "already exists", and nothing said the step was one-way.
Write the reverse operations, or make the one-way step explicit by raising in ``downgrade()``
(which this rule leaves alone), or silence it with a comment on the ``pass`` line:
``pass  # asyncmigrate: ignore[empty-downgrade] <why>``. A data-only upgrade (``INSERT``/``UPDATE`` through
``op.execute``, ``bulk_insert``) with an empty downgrade is not flagged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache

from ..context import RevisionContext
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule

_DATA_OPS = frozenset({"execute", "bulk_insert"})
_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP|RENAME|COMMENT)\b", re.IGNORECASE)


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


def _changes_schema(ctx: RevisionContext) -> bool:
    if any(call.name not in _DATA_OPS for call in ctx.ops):
        return True
    return any(statement.op is not None and _DDL.match(statement.text) for statement in ctx.statements)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    if ctx.direction != "upgrade" or not ctx.source:
        return
    line = empty_downgrade_line(ctx.source)
    if line is None or not _changes_schema(ctx):
        return
    yield Hit(
        "downgrade() does nothing although upgrade() changes the schema: a downgrade through this"
        " revision reports success and leaves the change in place",
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
    "downgrade() is empty after a schema-changing upgrade()",
    ALL_DIALECTS,
    check,
)
