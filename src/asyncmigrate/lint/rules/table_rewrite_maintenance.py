"""table-rewrite-maintenance: VACUUM FULL, CLUSTER, SET LOGGED/UNLOGGED, SET TABLESPACE/ACCESS METHOD.

## What it flags

``VACUUM FULL``, ``CLUSTER``, and ``ALTER TABLE`` of an existing table with ``SET LOGGED``,
``SET UNLOGGED``, ``SET TABLESPACE`` or ``SET ACCESS METHOD``. A plain ``VACUUM`` is not flagged
here.

## Why

PostgreSQL: each of these writes a complete new copy of the table (and its indexes) while
holding an ACCESS EXCLUSIVE lock: no reads, no writes until the copy is done, and the disk must
hold both copies meanwhile. ``SET LOGGED`` also writes the whole table to the WAL, which replicas
must replay (replica lag).

## Example

```python
op.execute("ALTER TABLE events SET LOGGED")
```

```python
op.execute("CLUSTER events USING ix_events_created_at")
```

## Fix

Do not rewrite a live table inside a migration. Run ``pg_repack`` (or ``REPACK (CONCURRENTLY)``
on PostgreSQL 19) outside it, or build a new table, copy the rows in batches and swap the names
in one short transaction:

```text
pg_repack --table=events --dbname=app
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_REWRITING_COMMANDS = {
    "AT_SetLogged": "SET LOGGED",
    "AT_SetUnLogged": "SET UNLOGGED",
    "AT_SetTableSpace": "SET TABLESPACE",
    "AT_SetAccessMethod": "SET ACCESS METHOD",
}
_RECIPE = (
    "# run pg_repack (or REPACK (CONCURRENTLY) on PostgreSQL 19) outside the migration,\n"
    "# or build a new table, copy in batches and swap names in one short transaction"
)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("VacuumStmt", "ClusterStmt"):
        if statement.kind == "VacuumStmt" and not pg.has_option(statement.node, "full", "options"):
            continue
        what = "VACUUM FULL" if statement.kind == "VacuumStmt" else "CLUSTER"
        yield Hit(
            f"{what} rewrites the table under an ACCESS EXCLUSIVE lock (reads and writes blocked)",
            _RECIPE,
            statement=statement,
        )
    for statement, cmd in ctx.alter_commands():
        rewrite = _REWRITING_COMMANDS.get(pg.enum_name(cmd.subtype))
        if rewrite:
            yield Hit(
                f"ALTER TABLE {pg.relation_name(statement.node)} {rewrite} rewrites the table under an"
                " ACCESS EXCLUSIVE lock",
                _RECIPE,
                statement=statement,
            )


RULE = Rule(
    "table-rewrite-maintenance",
    Severity.ERROR,
    "maintenance command that rewrites the table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
