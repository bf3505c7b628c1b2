"""table-rewrite-maintenance: VACUUM FULL, CLUSTER, SET LOGGED/UNLOGGED, SET TABLESPACE/ACCESS METHOD."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_REWRITING_COMMANDS = {
    "AT_SetLogged": "SET LOGGED",
    "AT_SetUnLogged": "SET UNLOGGED",
    "AT_SetTableSpace": "SET TABLESPACE",
    "AT_SetAccessMethod": "SET ACCESS METHOD",
}
_RECIPE = (
    "# run pg_repack (or REPACK (CONCURRENTLY) on PostgreSQL 19) outside the migration,\n"
    "# or build a new table, copy in batches and swap names in one short transaction"
)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("VacuumStmt", "ClusterStmt"):
        if statement.kind == "VacuumStmt" and not pg.has_option(statement.node, "full", "options"):
            continue
        what = "VACUUM FULL" if statement.kind == "VacuumStmt" else "CLUSTER"
        yield Hit(
            f"{what} rewrites the table under an ACCESS EXCLUSIVE lock (reads and writes blocked)",
            _RECIPE,
            statement=statement,
        )
    for statement, cmd in ctx.alter_commands():
        what = _REWRITING_COMMANDS.get(pg.enum_name(cmd.subtype))
        if what:
            yield Hit(
                f"ALTER TABLE {pg.relation_name(statement.node)} {what} rewrites the table under an"
                " ACCESS EXCLUSIVE lock",
                _RECIPE,
                statement=statement,
            )


RULE = Rule(
    "table-rewrite-maintenance",
    Severity.ERROR,
    "maintenance command that rewrites the table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
