"""unique-index-may-fail (advisory): a unique index on existing data may hit duplicates."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_RECIPE = (
    "# check first: SELECT <columns>, count(*) FROM <table> GROUP BY <columns> HAVING count(*) > 1\n"
    "# a failed CREATE UNIQUE INDEX CONCURRENTLY leaves an INVALID index behind"
)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("IndexStmt"):
        table = pg.relation_name(statement.node)
        if statement.node.unique and not ctx.is_new_table(statement.node.relation, statement.seq):
            yield Hit(
                f"the unique index on {table!r} fails if existing rows have duplicates", _RECIPE, statement
            )
    for statement, table, constraint in added_constraints(ctx, "UNIQUE"):
        if not constraint.indexname:
            yield Hit(
                f"the UNIQUE constraint on {table!r} fails if existing rows have duplicates",
                _RECIPE,
                statement,
            )


RULE = Rule(
    "unique-index-may-fail",
    Severity.ADVISORY,
    "unique index on existing data",
    POSTGRESQL,
    check,
    group="Data dependent",
)
