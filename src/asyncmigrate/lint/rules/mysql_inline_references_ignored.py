"""mysql-inline-references-ignored: column-level ``REFERENCES``, which MySQL silently ignores."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..context import RevisionContext
from ..model import Severity
from . import MYSQL, Hit, Rule

_REFERENCES = re.compile(r"\bREFERENCES\b", re.IGNORECASE)
_FOREIGN_KEY = re.compile(r"\bFOREIGN\s+KEY\b", re.IGNORECASE)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.statements:
        text = statement.text
        if len(_REFERENCES.findall(text)) > len(_FOREIGN_KEY.findall(text)):
            yield Hit(
                "a column-level REFERENCES clause is parsed and ignored by MySQL: no foreign key is created",
                'op.create_foreign_key("fk_<table>_<column>", "<table>", "<referred>", ["<column>"], ["id"])',
                statement=statement,
            )


RULE = Rule(
    "mysql-inline-references-ignored",
    Severity.ERROR,
    "column-level REFERENCES ignored by MySQL",
    MYSQL,
    check,
    group="MySQL / MariaDB",
)
