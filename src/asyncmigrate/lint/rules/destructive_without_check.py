"""destructive-without-check (advisory): dropping data with no assertion about it first."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    checked = any("select" in str(call.args[:1]).lower() for call in ctx.calls("execute"))
    if checked:
        return
    for change in schema_changes(ctx):
        if change.kind in ("drop_table", "drop_column"):
            target = change.table + (f".{change.column}" if change.column else "")
            yield Hit(
                f"{target} is dropped with no check that its data is no longer needed",
                "# assert first, e.g. that the table is empty:\n"
                f'# op.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM {change.table}) THEN'
                " RAISE EXCEPTION 'not empty'; END IF; END $$\")",
                statement=change.statement,
                op=change.op,
            )


RULE = Rule(
    "destructive-without-check",
    Severity.ADVISORY,
    "destructive change without a check",
    ALL_DIALECTS,
    check,
    group="History",
)
