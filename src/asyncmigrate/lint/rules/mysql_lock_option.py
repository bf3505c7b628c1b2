"""mysql-lock-option: ``LOCK=SHARED`` / ``LOCK=EXCLUSIVE`` in an ALTER.

## What it flags

Any statement with ``LOCK=SHARED`` or ``LOCK=EXCLUSIVE``.

## Why

MySQL / MariaDB: ``LOCK=SHARED`` blocks writes and ``LOCK=EXCLUSIVE`` blocks reads and writes on
the table for the whole ALTER, even when the server could have done it online.

## Example

```python dialect=mysql
op.execute("ALTER TABLE users ADD INDEX ix_users_email (email), LOCK=EXCLUSIVE")
```

## Fix

Drop the clause, or use ``LOCK=NONE`` so MySQL refuses instead of blocking:

```python dialect=mysql
op.execute("ALTER TABLE users ADD INDEX ix_users_email (email), LOCK=NONE")
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..context import RevisionContext
from ..model import Severity
from . import MYSQL, Hit, Rule

_LOCK = re.compile(r"\bLOCK\s*=?\s*(SHARED|EXCLUSIVE)\b", re.IGNORECASE)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.statements:
        match = _LOCK.search(statement.text)
        if match:
            mode = match.group(1).upper()
            blocked = "writes" if mode == "SHARED" else "reads and writes"
            yield Hit(
                f"LOCK={mode} blocks {blocked} for the whole ALTER",
                "# drop the LOCK clause (or use LOCK=NONE so MySQL refuses instead of blocking)",
                statement=statement,
            )


RULE = Rule(
    "mysql-lock-option", Severity.ERROR, "LOCK=SHARED/EXCLUSIVE", MYSQL, check, group="MySQL / MariaDB"
)
