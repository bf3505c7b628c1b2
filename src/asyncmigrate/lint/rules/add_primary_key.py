"""add-primary-key: ``ADD PRIMARY KEY`` that builds its index (and checks NOT NULL) under the lock."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, table, constraint in added_constraints(ctx, "PRIMARY"):
        if constraint.indexname:
            continue
        name = constraint.conname or f"pk_{table}"
        yield Hit(
            f"adding PRIMARY KEY {name} builds a unique index and checks NOT NULL on {table!r}"
            " under an ACCESS EXCLUSIVE lock",
            "with op.get_context().autocommit_block():\n"
            f'    op.create_index("{name}", "{table}", [...], unique=True, postgresql_concurrently=True)\n'
            f'op.execute("ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name}")',
            statement=statement,
        )


RULE = Rule(
    "add-primary-key",
    Severity.ERROR,
    "PRIMARY KEY added without USING INDEX",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
