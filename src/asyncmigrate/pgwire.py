"""Fewer round trips to PostgreSQL through asyncpg, for the statements a migration sends most.

SQLAlchemy's asyncpg dialect sends every statement as *prepare* (one round trip, a server-side
parse) then *bind + execute* (a second one), and after any DDL it forgets every prepared
statement. A migration is mostly DDL and Alembic's version-table UPDATE, each sent once, so the
prepare buys nothing. On engines we create for migrations:

* a statement without parameters that returns no rows (DDL; an INSERT/UPDATE/DELETE without
  RETURNING) goes out in PostgreSQL's simple-query protocol: one round trip, with the row count
  taken from the command tag, as psql and the floor script do;
* the history row is inserted through asyncpg's own statement cache (:func:`execute_cached`):
  parsed once per connection, then one round trip per revision.

Both run in the transaction SQLAlchemy has open (starting it first, as the dialect would), and
asyncpg errors come out as the dialect's own exceptions. Anything else goes the usual way; on a
SQLAlchemy whose asyncpg adapter lacks the hooks this needs, everything does.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_TAG_COUNT = re.compile(r"(\d+)\s*$")
_NEEDED = ("_connection", "_transaction", "_start_transaction", "_handle_exception", "_execute_mutex")


def _adapter(dbapi_connection: Any) -> Any | None:
    """SQLAlchemy's asyncpg connection adapter, when it has what the fast paths use."""
    if all(hasattr(dbapi_connection, name) for name in _NEEDED):
        return dbapi_connection
    return None


def _returns_nothing(context: Any) -> bool:
    if context.isddl:
        return True
    compiled = context.compiled
    if compiled is None or not (context.isinsert or context.isupdate or context.isdelete):
        return False
    return not compiled.effective_returning


async def _run(adapter: Any, sql: str, args: tuple[Any, ...]) -> str:
    async with adapter._execute_mutex:
        if adapter._transaction is None:
            await adapter._start_transaction()
        try:
            return await adapter._connection.execute(sql, *args)
        except Exception as error:
            adapter._handle_exception(error)
            raise  # _handle_exception always raises; this keeps type checkers honest


def _simple_query(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    """``do_execute``: take the statement when one simple-query round trip can do it."""
    if parameters or not _returns_nothing(context):
        return False
    adapter = _adapter(cursor._adapt_connection) if hasattr(cursor, "_adapt_connection") else None
    if adapter is None or not hasattr(cursor, "_rowcount"):
        return False
    from sqlalchemy.util import await_only

    tag = await_only(_run(adapter, statement, ()))
    found = _TAG_COUNT.search(tag or "")
    cursor._rowcount = int(found.group(1)) if found and not context.isddl else -1
    return True


def install(engine: Engine) -> None:
    """Route parameterless, row-less statements on this (asyncpg) engine through simple query."""
    if engine.dialect.driver == "asyncpg":
        event.listen(engine, "do_execute", _simple_query)


def execute_cached(connection: Connection, sql: str, args: tuple[Any, ...]) -> bool:
    """Run ``sql`` ($1, $2, ... placeholders) with ``args`` on the connection's asyncpg session,
    inside its transaction, through asyncpg's statement cache. False when this is not asyncpg
    (or the adapter lacks the hooks): the caller then executes the usual way."""
    if connection.dialect.driver != "asyncpg":
        return False
    adapter = _adapter(connection.connection.dbapi_connection)
    if adapter is None:
        return False
    from sqlalchemy.util import await_only

    if not connection.in_transaction():
        connection.begin()  # what Connection.execute's autobegin does: the caller commits it
    try:
        await_only(_run(adapter, sql, args))
    except connection.dialect.loaded_dbapi.Error as exc:
        # what Connection.execute would raise: the dialect's exception wrapped in SQLAlchemy's
        from sqlalchemy.exc import DBAPIError

        raise DBAPIError.instance(sql, args, exc, connection.dialect.loaded_dbapi.Error) from exc
    return True
