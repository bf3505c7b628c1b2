"""The rendered SQL as statements: parsed (pglast on PostgreSQL) and placed in transactions.

Alembic's offline output shows the transaction layout: ``BEGIN;`` at the start of a revision,
``COMMIT; ... BEGIN;`` around an ``autocommit_block()``. Each statement gets the number of the
transaction it runs in (``None`` outside any), which the transaction rules compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .capture import Capture, OpCall

_BEGIN = re.compile(r"^\s*(BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE)
_END = re.compile(r"^\s*(COMMIT|ROLLBACK|END)\b", re.IGNORECASE)


@dataclass
class Statement:
    """One SQL statement and where it came from."""

    seq: int
    text: str
    node: Any | None
    op: OpCall | None
    line: int | None
    transaction: int | None
    parse_error: str | None = None

    @property
    def kind(self) -> str:
        return type(self.node).__name__ if self.node is not None else ""

    @property
    def explicit(self) -> bool:
        """Written by the revision itself (``op.execute``), not by Alembic's transaction frame."""
        return self.op is not None


if TYPE_CHECKING:

    class ParsedStatement(Statement):
        """A statement pglast parsed: what ``RevisionContext.parsed`` yields (``node`` is set)."""

        node: Any

else:
    ParsedStatement = Statement


def split_statements(capture: Capture, dialect: str) -> list[Statement]:
    """Parse every emitted chunk and number the transactions."""
    statements: list[Statement] = []
    transaction: int | None = None
    count = 0
    for chunk in capture.emitted:
        for text, node, error in _parse(chunk.text, dialect):
            if _BEGIN.match(text):
                count += 1
                transaction = count
            statements.append(Statement(chunk.seq, text, node, chunk.op, chunk.line, transaction, error))
            if _END.match(text):
                transaction = None
    return statements


def _parse(text: str, dialect: str) -> list[tuple[str, Any | None, str | None]]:
    if dialect != "postgresql":
        return [(text.rstrip(";").strip(), None, None)]
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        raw = parse_sql(text)
    except ParseError as exc:
        return [(text.rstrip(";").strip(), None, str(exc))]
    parsed: list[tuple[str, Any | None, str | None]] = []
    encoded = text.encode()
    for item in raw:
        start = item.stmt_location or 0
        length = item.stmt_len or len(encoded) - start
        piece = encoded[start : start + length].decode().strip().rstrip(";").strip()
        parsed.append((piece, item.stmt, None))
    return parsed
