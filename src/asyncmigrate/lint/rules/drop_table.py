"""drop-table: ``DROP TABLE`` of an existing table.

## What it flags

``op.drop_table`` (or raw ``DROP TABLE`` on PostgreSQL) of a table that this revision did not
create.

## Why

The rows are gone for good (a downgrade recreates an empty table), and instances of the previous
release that still query the table fail as soon as the drop commits. On PostgreSQL the drop
also needs an ACCESS EXCLUSIVE lock, which queues behind running transactions.

## Example

```python
op.drop_table("legacy_sessions")
```

## Fix

Two releases, and a backup if the data matters:

```text
release 1: stop using the table (remove the model) and deploy
release 2: op.drop_table("legacy_sessions")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for change in schema_changes(ctx):
        if change.kind == "drop_table":
            yield Hit(
                f"dropping {change.table!r} loses its data and breaks instances of the previous release"
                " that still query it",
                "# release 1: stop using the table (remove the model) and deploy\n"
                f'# release 2: op.drop_table("{change.table}")  # after a backup if the data matters',
                statement=change.statement,
                op=change.op,
            )


RULE = Rule("drop-table", Severity.WARNING, "DROP TABLE", ALL_DIALECTS, check, group="Backward compatibility")
