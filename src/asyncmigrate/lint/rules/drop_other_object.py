"""drop-other-object (advisory): DROP VIEW/FUNCTION/TYPE/SEQUENCE/DOMAIN/EXTENSION."""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_COVERED = frozenset({"OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_SCHEMA"})


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("DropStmt"):
        kind = pg.enum_name(statement.node.removeType)
        if kind in _COVERED:
            continue
        yield Hit(
            f"dropping a {kind.removeprefix('OBJECT_').lower()} breaks clients that still use it",
            "# drop it in a release after the code stopped using it",
            statement=statement,
        )


RULE = Rule(
    "drop-other-object",
    Severity.ADVISORY,
    "DROP of a view, function, type...",
    POSTGRESQL,
    check,
    group="Backward compatibility",
)
