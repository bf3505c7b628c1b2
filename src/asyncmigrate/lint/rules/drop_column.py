"""drop-column: ``DROP COLUMN``; instances of the old release still select and insert it."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for change in schema_changes(ctx):
        if change.kind != "drop_column":
            continue
        yield Hit(
            f"dropping {change.table}.{change.column} breaks instances of the previous release that"
            " still select or insert it (ORMs select every mapped column), and the data is gone",
            "# release 1: remove the attribute from the model (or make it deferred()) and deploy\n"
            f'# release 2: op.drop_column("{change.table}", "{change.column}")',
            statement=change.statement,
            op=change.op,
        )


RULE = Rule(
    "drop-column", Severity.WARNING, "DROP COLUMN", ALL_DIALECTS, check, group="Backward compatibility"
)
