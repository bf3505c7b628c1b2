"""drop-schema: ``DROP SCHEMA`` / ``DROP DATABASE``."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("DropStmt", "DropdbStmt"):
        if statement.kind == "DropStmt" and pg.enum_name(statement.node.removeType) != "OBJECT_SCHEMA":
            continue
        yield Hit(
            "dropping a schema or database removes every object and row in it",
            "# drop what it contains explicitly, table by table, after the code stopped using it",
            statement=statement,
        )


RULE = Rule(
    "drop-schema",
    Severity.WARNING,
    "DROP SCHEMA or DROP DATABASE",
    POSTGRESQL,
    check,
    group="Backward compatibility",
)
