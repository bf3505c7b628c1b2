"""mysql-lock-option: ``LOCK=SHARED`` / ``LOCK=EXCLUSIVE`` in an ALTER."""

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
