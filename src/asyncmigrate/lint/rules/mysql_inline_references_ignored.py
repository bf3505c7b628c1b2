"""mysql-inline-references-ignored: column-level ``REFERENCES``, which MySQL silently ignores.

## What it flags

A statement with more ``REFERENCES`` clauses than ``FOREIGN KEY`` clauses: a ``REFERENCES``
written on the column itself (``user_id INT REFERENCES users (id)``) rather than as a table-level
``FOREIGN KEY (...) REFERENCES``.

## Why

MySQL 8 (InnoDB) parses a column-level ``REFERENCES`` and ignores it: the statement succeeds and
no foreign key exists, so the database never enforces the relation the migration appears to
create. The rule flags it on MariaDB too, whose support for the inline form depends on the
release: a table-level ``FOREIGN KEY`` works on every MySQL and MariaDB.

## Example

```python dialect=mysql
op.execute("ALTER TABLE orders ADD COLUMN user_id INT REFERENCES users (id)")
```

## Fix

Use a table-level foreign key (``op.create_foreign_key``, or ``sa.ForeignKey`` on the column,
which Alembic renders as a separate ``ADD FOREIGN KEY``). On an existing table that is then
judged by ``add-foreign-key-validated``, hence the checks turned off around it:

```python dialect=mysql
op.add_column("orders", sa.Column("user_id", sa.Integer()))
op.execute("SET foreign_key_checks = 0")
op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])
op.execute("SET foreign_key_checks = 1")
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..context import RevisionContext
from ..model import Severity
from . import MYSQL, Hit, Rule

_REFERENCES = re.compile(r"\bREFERENCES\b", re.IGNORECASE)
_FOREIGN_KEY = re.compile(r"\bFOREIGN\s+KEY\b", re.IGNORECASE)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.statements:
        text = statement.text
        if len(_REFERENCES.findall(text)) > len(_FOREIGN_KEY.findall(text)):
            yield Hit(
                "a column-level REFERENCES clause is parsed and ignored by MySQL: no foreign key is created",
                'op.create_foreign_key("fk_<table>_<column>", "<table>", "<referred>", ["<column>"], ["id"])',
                statement=statement,
            )


RULE = Rule(
    "mysql-inline-references-ignored",
    Severity.ERROR,
    "column-level REFERENCES ignored by MySQL",
    MYSQL,
    check,
    group="MySQL / MariaDB",
)
