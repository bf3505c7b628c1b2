"""The read-only commands' fast answers, written once for :class:`~asyncmigrate.Migrator` and
the command line.

``heads``, ``history``, ``current``, ``status`` and friends need the revision graph and two
small tables. The graph comes from the revision files through the cache
(:mod:`asyncmigrate.graph.cache`, no revision run, no Alembic); the tables are read with
``sqlite3`` or ``asyncpg`` themselves (:mod:`asyncmigrate.tables.read`). Each function here
returns ``None`` when that path cannot answer exactly as Alembic would (a project's own env.py
decides the database, a revision file the cache cannot read, a URL it does not parse the same
way): the caller then asks Alembic, through the Migrator. A failure of the database itself is
:class:`DatabaseFailed`: the same error Alembic's path would meet, reported the same way.

Nothing here imports SQLAlchemy, Alembic or asyncio for a SQLite file or an asyncpg URL, so the
command line answers without loading them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import URL_EMBEDDED, Settings
from ..graph.revisions import GraphUnavailable

if TYPE_CHECKING:
    from ..graph.revisions import RevisionGraph
    from ..graph.status import Status
    from ..tables.read import DatabaseState


class DatabaseFailed(Exception):
    """Reading the database failed on the fast path: the same error the Migrator would meet."""

    def __init__(self, error: Exception, url: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.url = url


def graph(settings: Settings) -> RevisionGraph | None:
    """The revision graph from the files (cached), or None: ask Alembic's ``ScriptDirectory``."""
    from ..graph.cache import load_graph

    try:
        return load_graph(settings)
    except GraphUnavailable:
        return None


def tables(settings: Settings, *, events: bool, through_sqlalchemy: bool = True) -> DatabaseState | None:
    """The version table (and, with ``events``, the history table), or None: ask Alembic.

    ``through_sqlalchemy=False`` answers only where no engine is needed (a SQLite file, an
    asyncpg URL): a Migrator has its own engine for the rest."""
    from ..dialects import for_scheme
    from ..tables.read import read_state

    if settings.url_source == URL_EMBEDDED and settings.alembic_ini is not None:
        return None  # alembic.ini names no database: the project's env.py decides
    if not through_sqlalchemy and for_scheme(settings.url).direct_tables(settings.url) is None:
        return None
    try:
        return read_state(settings, events=events)
    except GraphUnavailable:
        return None
    except Exception as exc:
        from ..apply.server_wait import ConnectTimeout

        if isinstance(exc, ConnectTimeout):
            raise  # the slower path would only wait as long again
        raise DatabaseFailed(exc, settings.url) from exc


def current(settings: Settings, *, through_sqlalchemy: bool = True) -> tuple[str, ...] | None:
    """The revisions the database is at, or None: ask Alembic."""
    state = tables(settings, events=False, through_sqlalchemy=through_sqlalchemy)
    return None if state is None else state.current


def status(settings: Settings, *, through_sqlalchemy: bool = True) -> Status | None:
    """Applied and pending revisions and what ``verify`` finds, or None: ask Alembic."""
    from ..graph.status import build_status
    from ..tables.history import live_revisions, unchecked, verify_history

    revisions = graph(settings)
    if revisions is None:
        return None
    state = tables(settings, events=True, through_sqlalchemy=through_sqlalchemy)
    if state is None:
        return None
    try:
        problems = verify_history(revisions, state.current, state.events)
    except (GraphUnavailable, KeyError):  # a parent's file is gone: Alembic's path words it
        return None
    problems += unchecked(revisions, state.current, state.events, settings.history_table)
    return build_status(revisions, state.current, problems, live_revisions(state.events))
