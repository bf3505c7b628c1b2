"""mysql-set-not-null-non-strict: NOT NULL on an existing MySQL column coerces NULLs silently
unless ``STRICT_TRANS_TABLES`` is on."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, columns_made_not_null
from ..model import Severity
from . import MYSQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for call, table, column in columns_made_not_null(ctx):
        yield Hit(
            f"making {table}.{column} NOT NULL without strict sql_mode silently turns existing NULLs"
            " into zero values (and copies the table)",
            f'op.execute("UPDATE {table} SET {column} = <value> WHERE {column} IS NULL")  # backfill first\n'
            "# and make sure sql_mode includes STRICT_TRANS_TABLES",
            op=call,
        )


RULE = Rule(
    "mysql-set-not-null-non-strict",
    Severity.WARNING,
    "NOT NULL on an existing MySQL column",
    MYSQL,
    check,
    group="MySQL / MariaDB",
)
