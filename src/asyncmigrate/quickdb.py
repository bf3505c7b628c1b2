"""Read the version table and the history table of an SQLite database through the standard
library's ``sqlite3``, in one connection.

``current`` and ``status`` only read two small tables; on SQLite that needs neither SQLAlchemy
(a third of a second to import) nor aiosqlite. The queries are the ones SQLAlchemy and Alembic
send (``PRAGMA main.table_info`` for ``has_table``, then a plain ``SELECT``), on the same file.
Only URLs whose meaning is unambiguous are read here; anything else (other databases, query
options, ``:memory:``, a schema) raises :class:`GraphUnavailable` and the caller goes through
SQLAlchemy as before, which also reports any error in its usual words.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
from dataclasses import dataclass

from .config import Settings
from .integrity import Event
from .revgraph import GraphUnavailable

#: ``sqlite[+driver]:///path`` with only characters that SQLAlchemy's URL parser and renderer
#: leave as they are, so the path and the URL shown by ``status`` are the same as through it.
_SQLITE_URL = re.compile(r"sqlite(?:\+(?:aiosqlite|pysqlite))?:///([A-Za-z0-9+\-./_~ ]+)")
#: How SQLAlchemy's SQLite ``DateTime`` stores a value.
_STORED_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?")


@dataclass(frozen=True)
class DatabaseState:
    """What the version table says, and the history table's events (None: no such table)."""

    current: tuple[str, ...]
    events: list[Event] | None


def sqlite_file(url: str) -> str | None:
    """The database file of a plain SQLite URL, as SQLAlchemy's pysqlite dialect opens it."""
    match = _SQLITE_URL.fullmatch(url)
    if match is None or match.group(1) == ":memory:":
        return None
    return os.path.abspath(match.group(1))


def display_url(url: str) -> str:
    """The URL as ``status`` shows it: SQLAlchemy's rendering, password hidden."""
    if sqlite_file(url) is not None:
        return url  # renders to itself (no user, password, host or query)
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_state(settings: Settings, *, events: bool) -> DatabaseState:
    """The current revisions (and, with ``events``, the history events) of the database."""
    path = sqlite_file(settings.url)
    if path is None or settings.version_table_schema is not None:
        raise GraphUnavailable("not a plain SQLite URL")
    try:
        connection = sqlite3.connect(path)
    except sqlite3.Error as exc:
        raise GraphUnavailable(str(exc)) from exc
    try:
        current: tuple[str, ...] = ()
        if _has_table(connection, settings.version_table):
            rows = connection.execute(f"SELECT version_num FROM {_quote(settings.version_table)}")
            current = tuple(row[0] for row in rows)
        history = None
        if events and _has_table(connection, settings.history_table):
            rows = connection.execute(
                f"SELECT id, revision, event, checksum, applied_at FROM {_quote(settings.history_table)}"
                " ORDER BY id"
            )
            history = [
                Event(id_, rev, kind, digest, _stored_datetime(at)) for id_, rev, kind, digest, at in rows
            ]
        return DatabaseState(current, history)
    except sqlite3.Error as exc:
        raise GraphUnavailable(str(exc)) from exc
    finally:
        connection.close()


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    """SQLAlchemy's SQLite ``has_table``: ``PRAGMA main.table_info``, then ``temp``."""
    for schema in ("main", "temp"):
        if connection.execute(f"PRAGMA {schema}.table_info({_quote(name)})").fetchall():
            return True
    return False


def _stored_datetime(value: object) -> dt.datetime:
    if not isinstance(value, str) or not _STORED_DATETIME.fullmatch(value):
        raise GraphUnavailable(f"unexpected stored datetime {value!r}")
    return dt.datetime.fromisoformat(value)
