"""add-unique-constraint: ``ADD CONSTRAINT ... UNIQUE`` that builds its index under the lock.

Includes ``add_column(Column(..., unique=True))``, which only the rendered SQL shows.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

RECIPE = """with op.get_context().autocommit_block():
    op.create_index("{n}", "{t}", [...], unique=True, postgresql_concurrently=True, if_not_exists=True)
op.execute("ALTER TABLE {t} ADD CONSTRAINT {n} UNIQUE USING INDEX {n}")"""


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, table, constraint in added_constraints(ctx, "UNIQUE"):
        if constraint.indexname:
            continue
        name = constraint.conname or f"uq_{table}"
        yield Hit(
            f"adding UNIQUE {name} builds an index on {table!r} under an ACCESS EXCLUSIVE lock:"
            " reads and writes wait for the whole build",
            RECIPE.format(n=name, t=table),
            statement=statement,
        )


RULE = Rule(
    "add-unique-constraint",
    Severity.ERROR,
    "UNIQUE constraint added without USING INDEX",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
