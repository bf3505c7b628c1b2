"""Fewer round trips to PostgreSQL through asyncpg, for the statements a migration sends most.

SQLAlchemy's asyncpg dialect sends every statement as *prepare* (one round trip, a server-side
parse) then *bind + execute* (a second one), and after any DDL it forgets every prepared
statement. A migration is mostly DDL and Alembic's version-table UPDATE, each sent once, so the
prepare buys nothing. On engines we create for migrations:

* a statement without parameters that returns no rows (DDL; an INSERT/UPDATE/DELETE without
  RETURNING) goes out in PostgreSQL's simple-query protocol: one round trip, with the row count
  taken from the command tag, as psql and the floor script do;
* the history row of a revision rides on Alembic's version UPDATE, which tables/version_update.py hands to
  :func:`update_version_row` (the row waits there after :func:`attach_history`):
  ``WITH version_row AS (UPDATE ... RETURNING 1) INSERT INTO history ... SELECT ... FROM
  version_row``, one round trip for both, whose row count is still the UPDATE's (the row is
  written only when the version row was, so Alembic's check that exactly one row changed holds);
* otherwise the history row is inserted through asyncpg's own statement cache
  (:func:`execute_cached`): parsed once per connection, then one round trip per revision.

Both run in the transaction SQLAlchemy has open (starting it first, as the dialect would), and
asyncpg errors come out as the dialect's own exceptions. Anything else goes the usual way; on a
SQLAlchemy whose asyncpg adapter lacks the hooks this needs, everything does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..internals.asyncpg import adapter_of, cursor_adapter, execute

_TAG_COUNT = re.compile(r"(\d+)\s*$")
#: ``Connection.info`` keys: the history row waiting for the version UPDATE, and the revision
#: whose row went out with it.
PENDING_HISTORY = "asyncmigrate.pending_history"
RECORDED_HISTORY = "asyncmigrate.recorded_history"


@dataclass(frozen=True)
class PendingHistory:
    """A revision's history row as ``INSERT INTO history (...) SELECT <literals>``, waiting for
    the UPDATE of ``version_table`` (name, schema) that ends the revision."""

    revision: str
    version_table: tuple[str, str | None]
    insert_select: str


def _returns_nothing(context: Any) -> bool:
    if context.isddl:
        return True
    compiled = context.compiled
    if compiled is None or not (context.isinsert or context.isupdate or context.isdelete):
        return False
    return not compiled.effective_returning


def _simple_query(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    """``do_execute``: take the statement when one simple-query round trip can do it."""
    if parameters or not _returns_nothing(context):
        return False
    found = cursor_adapter(cursor)
    if found is None:
        return False
    adapter, count_attribute = found
    from sqlalchemy.util import await_only

    tag = await_only(execute(adapter, statement, ()))
    setattr(cursor, count_attribute, -1 if context.isddl else _tag_rowcount(tag))
    return True


def _with_history(update: str, pending: PendingHistory | None) -> str:
    """The version UPDATE, carrying the pending history row when there is one."""
    if pending is None:
        return update
    return f"WITH version_row AS ({update} RETURNING 1) {pending.insert_select} FROM version_row"


def _history_sent(connection: Connection, pending: PendingHistory) -> None:
    connection.info.pop(PENDING_HISTORY, None)
    connection.info[RECORDED_HISTORY] = pending.revision


def _tag_rowcount(tag: str | None) -> int:
    found = _TAG_COUNT.search(tag or "")
    return int(found.group(1)) if found else -1


def install(engine: Engine) -> None:
    """Route parameterless, row-less statements on this (asyncpg) engine through simple query."""
    if engine.dialect.driver == "asyncpg":
        event.listen(engine, "do_execute", _simple_query)


def carries_history(connection: Connection) -> bool:
    """Whether this connection's engine sends simple queries (ours, on asyncpg), so a history
    row can ride on its version UPDATE; otherwise the caller records the row itself."""
    return event.contains(connection.engine, "do_execute", _simple_query)


def attach_history(connection: Connection, pending: PendingHistory) -> None:
    """Let ``pending`` go out with the next UPDATE of its version table on this connection
    (one that :func:`carries_history`)."""
    connection.info.pop(RECORDED_HISTORY, None)
    connection.info[PENDING_HISTORY] = pending


def take_recorded(connection: Connection) -> str | None:
    """The revision whose history row went out with the version UPDATE (and forget it)."""
    connection.info.pop(PENDING_HISTORY, None)
    return connection.info.pop(RECORDED_HISTORY, None)


def execute_cached(connection: Connection, sql: str, args: tuple[Any, ...]) -> bool:
    """Run ``sql`` ($1, $2, ... placeholders) with ``args`` on the connection's asyncpg session,
    inside its transaction, through asyncpg's statement cache. False when this is not asyncpg
    (or the adapter lacks the hooks): the caller then executes the usual way."""
    return _execute_direct(connection, sql, args) is not None


def update_version_row(
    connection: Connection, update: str, version_table: tuple[str, str | None]
) -> int | None:
    """Run ``update``, Alembic's UPDATE of ``version_table`` (name, schema) as literal SQL, in
    one simple-query round trip, with the revision's pending history row when there is one: the
    UPDATE's row count, or None when this connection does not send simple queries (the caller
    then executes it the usual way)."""
    if not carries_history(connection):
        return None
    pending = connection.info.get(PENDING_HISTORY)
    if pending is not None and pending.version_table != version_table:
        pending = None
    tag = _execute_direct(connection, _with_history(update, pending), ())
    if tag is None:
        return None
    if pending is not None:
        _history_sent(connection, pending)
    return _tag_rowcount(tag)


def _execute_direct(connection: Connection, sql: str, args: tuple[Any, ...]) -> str | None:
    """Send ``sql`` on the asyncpg session under ``connection``, inside its transaction, as
    SQLAlchemy would (starting one first; errors as SQLAlchemy's). Its command tag, or None
    when this is not asyncpg or the adapter lacks the hooks."""
    if connection.dialect.driver != "asyncpg":
        return None
    adapter = adapter_of(connection.connection.dbapi_connection)
    if adapter is None:
        return None
    from sqlalchemy.util import await_only

    if not connection.in_transaction():
        connection.begin()  # what Connection.execute's autobegin does: the caller commits it
    try:
        return await_only(execute(adapter, sql, args))
    except connection.dialect.loaded_dbapi.Error as exc:
        # what Connection.execute would raise: the dialect's exception wrapped in SQLAlchemy's
        from sqlalchemy.exc import DBAPIError

        raise DBAPIError.instance(sql, args, exc, connection.dialect.loaded_dbapi.Error) from exc
