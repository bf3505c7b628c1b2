"""add-column-default-rewrite: a column default that forces a table rewrite.

PostgreSQL >= 11 stores a non-volatile default once ("fast default"); a volatile one
(``gen_random_uuid()``, ``clock_timestamp()``, ``nextval``) still rewrites, and before 11 any
non-NULL default did. MySQL >= 8.0.12 / MariaDB >= 10.3.2 add a column with a literal default
INSTANTly; an expression default, or any default on older servers, rebuilds the table.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext, added_columns, is_literal_sql, server_default_sql
from ..model import Severity
from . import Hit, Rule, per_dialect


def _recipe(table: str, column: str) -> str:
    return (
        f'op.add_column("{table}", sa.Column("{column}", ..., nullable=True))  # no default\n'
        f'op.alter_column("{table}", "{column}", server_default=...)  # new rows only\n'
        "# backfill old rows in batches in a later revision, then SET NOT NULL if needed"
    )


def _postgresql(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, cmd in ctx.alter_commands():
        column = pg.added_column(cmd)
        default = column is not None and pg.column_constraint(column, "DEFAULT")
        if not default:
            continue
        expr = default.raw_expr
        if type(expr).__name__ == "A_Const" and expr.isnull:
            continue
        volatile = pg.is_volatile(expr)
        if not volatile and ctx.version_at_least(11):
            continue
        table = pg.relation_name(statement.node)
        why = (
            "its default is volatile (computed per row)"
            if volatile
            else "before PostgreSQL 11 every non-NULL default is written into each row"
        )
        yield Hit(
            f"adding {column.colname!r} with a default rewrites all of {table!r} under an ACCESS"
            f" EXCLUSIVE lock: {why}",
            _recipe(table, column.colname),
            statement=statement,
        )


def _mysql(ctx: RevisionContext) -> Iterator[Hit]:
    instant = (10, 3, 2) if ctx.dialect == "mariadb" else (8, 0, 12)
    for call, table, column in added_columns(ctx):
        default = server_default_sql(column)
        if default is None or default.upper() == "NULL":
            continue
        if is_literal_sql(default) and ctx.version_at_least(*instant):
            continue
        why = "an expression default" if not is_literal_sql(default) else "a default on this server version"
        yield Hit(
            f"adding {column.name!r} with {why} ({default}) rebuilds {table!r}: writes are blocked"
            " for the copy (literal defaults are INSTANT on MySQL >= 8.0.12, MariaDB >= 10.3.2)",
            _recipe(table, column.name),
            op=call,
        )


RULE = Rule(
    "add-column-default-rewrite",
    Severity.ERROR,
    "a column default that rewrites the table",
    *per_dialect(postgresql=_postgresql, mysql=_mysql),
    group="PostgreSQL: locks and rewrites",
)
