"""rename-table: renaming a table breaks the running release's queries."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    views = {s.node.view.relname for s in ctx.parsed("ViewStmt")}
    for change in schema_changes(ctx):
        if change.kind != "rename_table":
            continue
        if change.table in views:
            continue  # an updatable view keeps the old name working
        yield Hit(
            f"renaming {change.table!r} to {change.new_name!r} breaks every running instance that"
            " still queries the old name",
            "# keep __tablename__ and rename only the class; or rename and keep the old name alive:\n"
            f'op.rename_table("{change.table}", "{change.new_name}")\n'
            f'op.execute("CREATE VIEW {change.table} AS SELECT * FROM {change.new_name}")',
            statement=change.statement,
            op=change.op,
        )


RULE = Rule(
    "rename-table", Severity.WARNING, "RENAME TABLE", ALL_DIALECTS, check, group="Backward compatibility"
)
