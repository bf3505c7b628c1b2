"""contract-change (opt-in): changes to what existing clients see: SET DEFAULT, new enum values."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, cmd in ctx.alter_commands():
        if pg.is_cmd(cmd, "AT_ColumnDefault"):
            yield Hit(
                f"changing the default of {pg.relation_name(statement.node)}.{cmd.name} changes what"
                " inserts from the running release store",
                "# make sure the running code sets the value explicitly, or agrees with the new default",
                statement=statement,
            )
    for statement in ctx.parsed("AlterEnumStmt"):
        if statement.node.newVal and not statement.node.oldVal:
            yield Hit(
                f"the new enum value {statement.node.newVal!r} may reach code that does not know it",
                "# deploy code that accepts the value before any writer uses it",
                statement=statement,
            )


RULE = Rule(
    "contract-change",
    Severity.ADVISORY,
    "a change to what existing clients see",
    POSTGRESQL,
    check,
    enabled_by_default=False,
    group="Backward compatibility",
)
