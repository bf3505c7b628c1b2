"""drop-not-null (advisory): readers may not expect NULLs once the column allows them."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, cmd in ctx.alter_commands():
        if pg.is_cmd(cmd, "AT_DropNotNull"):
            yield Hit(
                f"{pg.relation_name(statement.node)}.{cmd.name} may now hold NULL; code of the running"
                " release may not expect it (the lock itself is brief)",
                "# make sure every reader handles NULL before deploying this",
                statement=statement,
            )


RULE = Rule(
    "drop-not-null", Severity.ADVISORY, "DROP NOT NULL", POSTGRESQL, check, group="Backward compatibility"
)
