"""drop-constraint (advisory): removing a guarantee that clients may rely on."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, cmd in ctx.alter_commands():
        if pg.is_cmd(cmd, "AT_DropConstraint"):
            yield Hit(
                f"dropping constraint {cmd.name} on {pg.relation_name(statement.node)} removes a"
                " guarantee that code or other tables may rely on",
                "# confirm nothing depends on it; helper CHECKs of the SET NOT NULL recipe are fine",
                statement=statement,
            )


RULE = Rule(
    "drop-constraint", Severity.ADVISORY, "DROP CONSTRAINT", POSTGRESQL, check, group="Backward compatibility"
)
