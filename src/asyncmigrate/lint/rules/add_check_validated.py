"""add-check-validated: ``ADD CONSTRAINT ... CHECK`` without ``NOT VALID``."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, table, constraint in added_constraints(ctx, "CHECK"):
        if constraint.skip_validation:
            continue
        name = constraint.conname or f"ck_{table}"
        yield Hit(
            f"adding CHECK {name} to {table!r} scans every row under an ACCESS EXCLUSIVE lock"
            " (reads and writes blocked)",
            f'op.create_check_constraint("{name}", "{table}", "...", postgresql_not_valid=True)\n'
            "# in the next revision (or an autocommit_block), SHARE UPDATE EXCLUSIVE only:\n"
            f'op.execute("ALTER TABLE {table} VALIDATE CONSTRAINT {name}")',
            statement=statement,
        )


RULE = Rule(
    "add-check-validated",
    Severity.ERROR,
    "CHECK constraint added without NOT VALID",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
