"""rename-column: renaming a column breaks the running release's queries the moment it commits."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for change in schema_changes(ctx):
        if change.kind == "rename_column":
            yield Hit(
                f"renaming {change.table}.{change.column} to {change.new_name} breaks every running"
                " instance that still uses the old name, as soon as the migration commits",
                "# rename only the Python attribute and keep the column:\n"
                f'{change.new_name} = mapped_column("{change.column}", ...)\n'
                "# or: add the new column, write both, backfill, switch reads, drop the old one",
                statement=change.statement,
                op=change.op,
            )


RULE = Rule(
    "rename-column", Severity.WARNING, "RENAME COLUMN", ALL_DIALECTS, check, group="Backward compatibility"
)
