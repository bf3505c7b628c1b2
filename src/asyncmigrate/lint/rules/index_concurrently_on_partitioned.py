"""index-concurrently-on-partitioned: CREATE INDEX CONCURRENTLY on a partitioned parent fails."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    partitioned = set(ctx.state.partitioned)
    for statement in ctx.statements:
        node = statement.node
        if statement.kind == "CreateStmt" and node.partspec is not None:
            partitioned.add(node.relation.relname)
        elif statement.kind == "IndexStmt" and node.concurrent and pg.relation_name(node) in partitioned:
            table = pg.relation_name(node)
            name = node.idxname or "ix_name"
            yield Hit(
                f"{table!r} is partitioned: CREATE INDEX CONCURRENTLY on it fails with 'cannot create"
                " index on partitioned table concurrently'",
                f'op.execute("CREATE INDEX {name} ON ONLY {table} (...)")  # invalid until attached\n'
                "with op.get_context().autocommit_block():\n"
                "    # for each partition p:\n"
                '    op.execute("CREATE INDEX CONCURRENTLY p_idx ON p (...)")\n'
                f'    op.execute("ALTER INDEX {name} ATTACH PARTITION p_idx")',
                statement=statement,
            )


RULE = Rule(
    "index-concurrently-on-partitioned",
    Severity.ERROR,
    "CREATE INDEX CONCURRENTLY on a partitioned table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
