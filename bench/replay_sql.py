"""The floor for `upgrade head`: replay the SQL Alembic printed (`--sql`) in one process.

Under an advisory lock on PostgreSQL, as a migrator holding the apply lock would. No SQLAlchemy,
no Alembic: what is left is the server's work, the driver and the process start. Two layouts:

* ``script`` (default): one round trip per revision's transaction, BEGIN ... COMMIT sent as one
  simple-query script (the lowest any client can go);
* ``statements``: the same transactions, every statement (BEGIN and COMMIT too) sent on its own
  and awaited, as a client that reports which statement failed must.

usage: replay_sql.py DATABASE_URL SQL_FILE [script|statements]
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from urllib.parse import unquote, urlsplit

_TRANSACTION = re.compile(r"^BEGIN;\n.*?^COMMIT;\n", re.MULTILINE | re.DOTALL)


def chunks(sql: str) -> list[str]:
    """The script cut into transactions; statements between them form chunks of their own."""
    sql = re.sub(r"^--.*\n", "", sql, flags=re.MULTILINE)
    pieces, position = [], 0
    for match in _TRANSACTION.finditer(sql):
        if sql[position : match.start()].strip():
            pieces.append(sql[position : match.start()])
        pieces.append(match.group(0))
        position = match.end()
    if sql[position:].strip():
        pieces.append(sql[position:])
    return pieces


def statements(piece: str) -> list[str]:
    """One chunk cut into its statements (Alembic ends each with ';' and a blank line)."""
    return [part.strip() for part in re.split(r";\n(?:\n|$)", piece) if part.strip()]


async def replay_postgresql(url: str, pieces: list) -> None:
    import asyncpg

    parts = urlsplit(url)
    connection = await asyncpg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=parts.path.lstrip("/"),
    )
    try:
        await connection.execute("SELECT pg_advisory_lock(42)")
        for piece in pieces:
            if isinstance(piece, list):
                for statement in piece:
                    await connection.execute(statement)
            else:
                await connection.execute(piece)
        await connection.execute("SELECT pg_advisory_unlock(42)")
    finally:
        await connection.close()


def replay_sqlite(url: str, pieces: list) -> None:
    connection = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
    try:
        for piece in pieces:
            if isinstance(piece, list):
                for statement in piece:
                    connection.execute(statement)
            else:
                connection.executescript(piece)
    finally:
        connection.close()


def main() -> None:
    url, path = sys.argv[1], sys.argv[2]
    layout = sys.argv[3] if len(sys.argv) > 3 else "script"
    with open(path) as handle:
        pieces: list = chunks(handle.read())
    if layout == "statements":
        pieces = [statements(piece) for piece in pieces]
    if url.startswith("postgresql"):
        asyncio.run(replay_postgresql(url, pieces))
    else:
        replay_sqlite(url, pieces)


if __name__ == "__main__":
    main()
