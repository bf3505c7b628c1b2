"""mysql-copy-algorithm: ``ALGORITHM=COPY`` on an existing table."""

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
