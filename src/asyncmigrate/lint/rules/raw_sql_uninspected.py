"""raw-sql-uninspected: SQL or code the linter could not inspect; a human must review it.

## What it flags

- SQL that PostgreSQL's parser (pglast) cannot parse;
- a ``DO`` block (procedural code);
- an ``op.*`` call that could not be rendered offline;
- a revision that stopped while rendered offline (for instance a data migration that reads
  through ``op.get_bind()``): what follows that point was not checked.

## Why

PostgreSQL: the other rules judge the parsed SQL; whatever they could not see may take any lock
or rewrite any table. MySQL / MariaDB and SQLite: statements are not parsed, so only the last two
cases apply there (an op call or a revision that fails offline). In every case the finding says
the linter's silence means nothing for that part.

## Example

```python
op.execute(
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app')"
    " THEN CREATE ROLE app; END IF; END $$"
)
```

## Fix

Review it by hand; when it is safe, say so next to the call:

```python
op.execute(
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app')"
    " THEN CREATE ROLE app; END IF; END $$"
)  # asyncmigrate: ignore[raw-sql-uninspected] only creates a role, takes no table lock
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule

_RECIPE = (
    "# review it by hand; when it is safe, say so next to the call:\n"
    "# asyncmigrate: ignore[raw-sql-uninspected] <why it is safe>"
)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.statements:
        if statement.parse_error:
            yield Hit(f"this SQL could not be parsed ({statement.parse_error})", _RECIPE, statement=statement)
        elif statement.kind == "DoStmt":
            yield Hit(
                "a DO block runs procedural code whose statements cannot be checked before it runs",
                _RECIPE,
                statement=statement,
            )
    for call in ctx.ops:
        if call.error:
            yield Hit(f"op.{call.name} could not be rendered offline ({call.error})", _RECIPE, op=call)
    if ctx.capture.failure:
        yield Hit(
            f"the revision stopped when rendered offline ({ctx.capture.failure}); what follows was"
            " not checked (data migrations that read through op.get_bind() do this)",
            _RECIPE,
            source_line=ctx.capture.failure_line,
        )


RULE = Rule(
    "raw-sql-uninspected",
    Severity.WARNING,
    "SQL or code the linter cannot inspect",
    ALL_DIALECTS,
    check,
    group="Operational hygiene",
)
