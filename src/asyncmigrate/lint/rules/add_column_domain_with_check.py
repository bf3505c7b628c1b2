"""add-column-domain-with-check: adding a column whose type is a domain with CHECK constraints.

## What it flags

``ADD COLUMN`` on an existing table whose type is a domain that has a CHECK constraint: a domain
created earlier in the same revision, or one the replayed history created.

## Why

PostgreSQL: the domain's CHECK has to be verified against every row, even when the column is
nullable and has no default, so the table is rewritten under an ACCESS EXCLUSIVE lock (reads and
writes blocked for the whole copy).

## Example

```python
op.execute("CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0)")
op.execute("ALTER TABLE orders ADD COLUMN quantity positive_int")
```

## Fix

Use the base type and a table CHECK added ``NOT VALID``, validated in a later revision (the
validation takes only SHARE UPDATE EXCLUSIVE):

```python
op.add_column("orders", sa.Column("quantity", sa.Integer()))
op.create_check_constraint(
    "ck_orders_quantity", "orders", "quantity > 0", postgresql_not_valid=True
)
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    domains = set(ctx.state.domains_with_check)
    for statement in ctx.parsed("CreateDomainStmt", "AlterTableStmt"):
        if statement.kind == "CreateDomainStmt":
            if any(pg.is_check(c) for c in statement.node.constraints or ()):
                domains.add(pg.dotted(statement.node.domainname)[-1])
            continue
        if statement.kind != "AlterTableStmt":
            continue
        table = pg.relation_name(statement.node)
        if ctx.is_new_table(statement.node.relation, statement.seq):
            continue
        for cmd in pg.alter_commands(statement.node):
            column = pg.added_column(cmd)
            if column is not None and pg.type_name(column) in domains:
                yield Hit(
                    f"column {column.colname!r} has the domain type {pg.type_name(column)!r}, whose"
                    f" CHECK must be verified on every row: {table!r} is rewritten under an"
                    " ACCESS EXCLUSIVE lock even with no default",
                    f'op.add_column("{table}", sa.Column("{column.colname}", <base type>))\n'
                    f'op.create_check_constraint("ck_{table}_{column.colname}", "{table}", "...",'
                    " postgresql_not_valid=True)\n# VALIDATE CONSTRAINT in the next revision",
                    statement=statement,
                )


RULE = Rule(
    "add-column-domain-with-check",
    Severity.ERROR,
    "adding a column of a domain type with CHECK rewrites the table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
