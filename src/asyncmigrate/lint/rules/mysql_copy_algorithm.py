"""mysql-copy-algorithm: ``ALGORITHM=COPY`` in a statement.

## What it flags

Any statement that asks for ``ALGORITHM=COPY`` (raw SQL through ``op.execute``, or a dialect
option that renders it).

## Why

MySQL / MariaDB: COPY builds a full copy of the table and blocks writes until it is done, and
replicas replay the copy after the primary finished it (replica lag). Without the clause MySQL
picks INSTANT or INPLACE when it can, which lets writes through.

## Example

```python dialect=mysql
op.execute("ALTER TABLE users ADD INDEX ix_users_email (email), ALGORITHM=COPY")
```

## Fix

Drop the clause, or ask for an online change so MySQL refuses instead of blocking when it
cannot do one:

```python dialect=mysql
op.execute("ALTER TABLE users ADD INDEX ix_users_email (email), ALGORITHM=INPLACE, LOCK=NONE")
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..context import RevisionContext
from ..model import Severity
from . import MYSQL, Hit, Rule

_COPY = re.compile(r"ALGORITHM\s*=?\s*COPY", re.IGNORECASE)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.statements:
        if _COPY.search(statement.text):
            yield Hit(
                "ALGORITHM=COPY copies the whole table and blocks writes until the copy ends",
                "# drop the ALGORITHM clause and let MySQL pick INPLACE/INSTANT;\n"
                "# add ALGORITHM=INPLACE, LOCK=NONE to make MySQL refuse instead of blocking",
                statement=statement,
            )


RULE = Rule("mysql-copy-algorithm", Severity.ERROR, "ALGORITHM=COPY", MYSQL, check, group="MySQL / MariaDB")
