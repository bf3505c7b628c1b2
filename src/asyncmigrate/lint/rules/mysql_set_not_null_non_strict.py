"""mysql-set-not-null-non-strict: NOT NULL on an existing MySQL column coerces NULLs silently
unless ``STRICT_TRANS_TABLES`` is on."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, column_name_of, table_of
from ..model import Severity
from . import MYSQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for call in ctx.calls("alter_column"):
        table = table_of(call)
        if call.kwargs.get("nullable") is not False or ctx.is_new_table(table, call.seq):
            continue
        column = column_name_of(call)
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
)
