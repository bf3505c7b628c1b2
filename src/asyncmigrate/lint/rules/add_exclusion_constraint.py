"""add-exclusion-constraint: ``ADD CONSTRAINT ... EXCLUDE`` on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, table, _constraint in added_constraints(ctx, "EXCLUSION"):
        yield Hit(
            f"adding an EXCLUDE constraint builds and checks an index on {table!r} under an ACCESS"
            " EXCLUSIVE lock, and it cannot be NOT VALID",
            f"# build a new table with the constraint, copy {table} into it in batches,\n"
            "# then swap the names in one short transaction:\n"
            f'op.create_table("{table}_new", ..., postgresql.ExcludeConstraint(...))',
            statement=statement,
        )


RULE = Rule(
    "add-exclusion-constraint",
    Severity.ERROR,
    "EXCLUDE constraint added to an existing table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
