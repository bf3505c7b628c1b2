"""add-exclusion-constraint: ``ADD CONSTRAINT ... EXCLUDE`` on an existing table.

## What it flags

Any ``EXCLUDE`` constraint added to a table that this revision did not create.

## Why

PostgreSQL: the ADD builds the constraint's index and checks every row under an ACCESS EXCLUSIVE
lock (reads and writes blocked for the whole build). Unlike CHECK and FOREIGN KEY, an exclusion
constraint cannot be added ``NOT VALID``, and unlike UNIQUE it cannot be built ``CONCURRENTLY``
and attached ``USING INDEX``: there is no lock-free way to add it in place.

## Example

```python
op.execute(
    "ALTER TABLE bookings ADD CONSTRAINT no_overlap"
    " EXCLUDE USING gist (room WITH =, during WITH &&)"
)
```

## Fix

Build a new table with the constraint, copy the rows over in batches, then swap the names in one
short transaction:

```python
op.create_table(
    "bookings_new",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("room", sa.Integer),
    sa.Column("during", postgresql.TSRANGE()),
    postgresql.ExcludeConstraint(("room", "="), ("during", "&&"), using="gist"),
)
# copy bookings into bookings_new in batches, then rename both tables in one transaction
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, table, _constraint in added_constraints(ctx, "EXCLUSION"):
        yield Hit(
            f"adding an EXCLUDE constraint builds and checks an index on {table!r} under an ACCESS"
            " EXCLUSIVE lock, and it cannot be NOT VALID",
            f"# build a new table with the constraint, copy {table} into it in batches,\n"
            "# then swap the names in one short transaction:\n"
            f'op.create_table("{table}_new", ..., postgresql.ExcludeConstraint(...))',
            statement=statement,
        )


RULE = Rule(
    "add-exclusion-constraint",
    Severity.ERROR,
    "EXCLUDE constraint added to an existing table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
