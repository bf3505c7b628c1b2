"""add-foreign-key-validated: ``ADD FOREIGN KEY`` that validates existing rows at once.

## What it flags

- PostgreSQL: a FOREIGN KEY added to a table that this revision did not create, without ``NOT
  VALID`` (``postgresql_not_valid=True``). This includes ``add_column(Column(...,
  ForeignKey(...)))``, which Alembic renders as a separate, validated ``ADD FOREIGN KEY``.
- MySQL / MariaDB: ``op.create_foreign_key`` on an existing table, or an added column with a
  ``ForeignKey``, unless an earlier ``op.execute("SET foreign_key_checks = 0")`` in the revision
  turned the checks off (and no ``= 1`` turned them on again).

## Why

PostgreSQL: the ADD checks every row of the table against the referred table while holding SHARE
ROW EXCLUSIVE locks on both tables, so writes to both are blocked for the whole scan. ``NOT
VALID`` makes the ADD instant; ``VALIDATE CONSTRAINT`` then takes only SHARE UPDATE EXCLUSIVE.

MySQL / MariaDB: with ``foreign_key_checks=1`` only the COPY algorithm is supported for adding a
foreign key, so the table is copied and writes are blocked until the copy ends.

## Example

```python
op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])
```

```python dialect=mysql
op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])
```

## Fix

PostgreSQL: add it NOT VALID, validate outside the transaction (or in the next revision):

```python
op.create_foreign_key(
    "fk_orders_user", "orders", "users", ["user_id"], ["id"], postgresql_not_valid=True
)
with op.get_context().autocommit_block():
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")
```

MySQL / MariaDB: turn the checks off for the ADD, only when the data is known to be valid and no
connection pooler shares the session:

```python dialect=mysql
op.execute("SET foreign_key_checks = 0")
op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])
op.execute("SET foreign_key_checks = 1")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..capture import OpCall
from ..context import RevisionContext, added_columns, added_constraints, table_of
from ..model import Severity
from . import Hit, Rule, per_dialect

_PG_RECIPE = """op.create_foreign_key(
    "{n}", "{t}", "<referred table>", ["<column>"], ["id"], postgresql_not_valid=True
)
# in the next revision (or an autocommit_block), SHARE UPDATE EXCLUSIVE only:
op.execute("ALTER TABLE {t} VALIDATE CONSTRAINT {n}")"""

_MYSQL_RECIPE = """op.execute("SET foreign_key_checks = 0")  # only when the data is known to be valid
op.create_foreign_key("{n}", "{t}", "<referred table>", ["<column>"], ["id"])
op.execute("SET foreign_key_checks = 1")"""


def _postgresql(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, table, constraint in added_constraints(ctx, "FOREIGN"):
        if constraint.skip_validation:
            continue
        name = constraint.conname or f"fk_{table}"
        referred = getattr(constraint.pktable, "relname", "?")
        yield Hit(
            f"adding a FOREIGN KEY from {table!r} to {referred!r} validates every row while holding"
            " SHARE ROW EXCLUSIVE locks on both tables (writes blocked on both)",
            _PG_RECIPE.format(n=name, t=table),
            statement=statement,
        )


def _mysql(ctx: RevisionContext) -> Iterator[Hit]:
    disabled = False
    for call in ctx.ops:
        if call.name == "execute":
            sql = str(call.arg(0, "sqltext")).lower().replace(" ", "")
            if "foreign_key_checks=0" in sql:
                disabled = True
            elif "foreign_key_checks=1" in sql:
                disabled = False
            continue
        if disabled:
            continue
        if call.name != "create_foreign_key":
            continue
        table = table_of(call, 1, "source_table")
        if not ctx.is_new_table(table, call.seq):
            yield _mysql_hit(call, table, call.arg(0, "constraint_name") or f"fk_{table}")
    for call, table, column in added_columns(ctx):
        if column.foreign_keys and not disabled:
            yield _mysql_hit(call, table, f"fk_{table}_{column.name}")


def _mysql_hit(call: OpCall, table: str, name: str) -> Hit:
    return Hit(
        f"adding a FOREIGN KEY on {table!r} with foreign_key_checks=1 makes MySQL copy the table:"
        " writes on it are blocked until the copy ends",
        _MYSQL_RECIPE.format(n=name, t=table),
        op=call,
    )


RULE = Rule(
    "add-foreign-key-validated",
    Severity.ERROR,
    "FOREIGN KEY added on an existing table, validated at once",
    *per_dialect(postgresql=_postgresql, mysql=_mysql),
    group="PostgreSQL: locks and rewrites",
)
