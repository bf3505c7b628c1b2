"""drop-column-still-mapped: dropping a column the project's current models still map.

This release's own code would break: SQLAlchemy selects every mapped column.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for change in schema_changes(ctx):
        if change.kind != "drop_column" or change.column not in (ctx.mapped_columns(change.table) or set()):
            continue
        yield Hit(
            f"{change.table}.{change.column} is dropped but the current models still map it: every"
            " query SQLAlchemy issues for that model will fail after this migration",
            "# remove the column from the model first and deploy that release;\n"
            f'# drop it in a later revision: op.drop_column("{change.table}", "{change.column}")',
            statement=change.statement,
            op=change.op,
        )


RULE = Rule(
    "drop-column-still-mapped",
    Severity.ERROR,
    "DROP COLUMN of a column the models still map",
    ALL_DIALECTS,
    check,
    group="Backward compatibility",
)
