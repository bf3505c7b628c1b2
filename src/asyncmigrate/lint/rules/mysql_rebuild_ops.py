"""mysql-rebuild-ops: ALTERs that rebuild or copy the table on MySQL/MariaDB.

## What it flags

On a table that this revision did not create, an ``ALTER TABLE`` (or ``CREATE ... INDEX``) that
adds or drops a primary key, adds a FULLTEXT or SPATIAL index, changes the character set or the
engine, partitions the table, adds a STORED generated column or adds an AUTO_INCREMENT column
(also ``add_column`` of a column with ``autoincrement=True``).

## Why

MySQL / MariaDB cannot do these in place without a rebuild: the table is rebuilt or copied, and
writes are blocked (or heavily slowed) for as long as that takes on a big table; replicas replay
the rebuild after the primary (replica lag).

## Example

```python dialect=mysql
op.execute("ALTER TABLE articles ADD FULLTEXT INDEX ft_articles_body (body)")
```

## Fix

Run the change with an online schema-change tool outside the migration, then record it:

```text
gh-ost --alter "ADD FULLTEXT INDEX ft_articles_body (body)" --table articles ...
asyncmigrate stamp <this revision>
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..context import RevisionContext, added_columns
from ..model import Severity
from . import MYSQL, Hit, Rule

_TABLE = re.compile(r"^\s*(?:ALTER\s+TABLE|CREATE\s+\w+\s+INDEX\s+\S+\s+ON)\s+`?(\w+)`?", re.IGNORECASE)
_REBUILDS = (
    (re.compile(r"\b(ADD|DROP)\b.*\bPRIMARY\s+KEY\b", re.IGNORECASE), "changing the primary key"),
    (re.compile(r"\b(FULLTEXT|SPATIAL)\b", re.IGNORECASE), "a FULLTEXT/SPATIAL index"),
    (
        re.compile(r"\b(CONVERT\s+TO\s+CHARACTER\s+SET|CHARACTER\s+SET\s*=|CHARSET\s*=)", re.IGNORECASE),
        "a charset change",
    ),
    (re.compile(r"\bENGINE\s*=", re.IGNORECASE), "an engine change"),
    (re.compile(r"\bPARTITION\s+BY\b", re.IGNORECASE), "partitioning"),
    (re.compile(r"\bGENERATED\s+ALWAYS\s+AS\b.*\bSTORED\b", re.IGNORECASE), "a STORED generated column"),
    (re.compile(r"\bADD\s+(COLUMN\s+)?.*\bAUTO_INCREMENT\b", re.IGNORECASE), "an AUTO_INCREMENT column"),
)
_RECIPE = (
    "# run this change with an online schema-change tool (gh-ost, pt-online-schema-change)\n"
    "# outside the migration, then op.execute() nothing here and stamp the result"
)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    flagged: set[int] = set()
    for statement in ctx.statements:
        match = _TABLE.match(statement.text)
        if not match or ctx.is_new_table(match.group(1), statement.seq):
            continue
        for pattern, what in _REBUILDS:
            if pattern.search(statement.text):
                flagged.add(statement.seq)
                yield Hit(
                    f"{what} on {match.group(1)!r} rebuilds the table: writes are blocked for the copy",
                    _RECIPE,
                    statement=statement,
                )
                break
    for call, table, column in added_columns(ctx):
        if column.autoincrement is True and not any(
            s.op is call and s.seq in flagged for s in ctx.statements
        ):
            yield Hit(
                f"adding the AUTO_INCREMENT column {column.name!r} rebuilds {table!r}: writes are blocked",
                _RECIPE,
                op=call,
            )


RULE = Rule(
    "mysql-rebuild-ops",
    Severity.ERROR,
    "ALTER that rebuilds the table on MySQL",
    MYSQL,
    check,
    group="MySQL / MariaDB",
)
