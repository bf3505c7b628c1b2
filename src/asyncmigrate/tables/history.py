"""History integrity: a side table that remembers what ran, and checks against it.

``alembic_version`` only knows the current head(s). The side table (``asyncmigrate_history``
next to it, never replacing it) gets one row per event: a revision applied, reverted, stamped,
or adopted from a database migrated before the table existed, with the checksum of the
revision file's source, when, how long, where (host, pid) and the tool version. The row is
written in the revision's own transaction, so it moves with the version row.

``verify`` then finds what Alembic cannot: an applied revision whose file was edited since, an
applied revision whose file is gone, and a revision that counts as applied but never ran here
(inserted into the history below revisions already applied), or ran before its parent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..graph.status import RevisionSource, applied_revisions, to_tuple

if TYPE_CHECKING:  # SQLAlchemy is imported where a table is touched: verify_history needs none
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection

UPGRADE = "upgrade"
DOWNGRADE = "downgrade"
STAMP = "stamp"
ADOPTED = "adopted"
#: A revision that failed; ``detail`` lists the INVALID indexes its CREATE INDEX CONCURRENTLY left.
FAILED = "failed"
#: ``verify --accept``: someone acknowledged that an applied revision's file is gone (checksum
#: NULL) or was edited (the checksum of the file as it is now).
ACCEPTED = "accepted"


def history_table(name: str, schema: str | None) -> Table:
    from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table

    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("revision", String(64), nullable=False, index=True),
        Column("event", String(16), nullable=False),
        Column("checksum", String(64)),
        Column("applied_at", DateTime(timezone=True), nullable=False),
        Column("duration_ms", Integer),
        Column("host", String(255)),
        Column("pid", Integer),
        Column("tool_version", String(32)),
        Column("detail", String(2000)),
        schema=schema,
    )


def file_checksum(path: str | os.PathLike[str] | None) -> str | None:
    """sha256 of the revision file's source, with line endings normalised."""
    if path is None:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return source_checksum(data)


def source_checksum(data: bytes) -> str:
    """sha256 of a revision's source, with line endings normalised (CRLF checkouts match)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


_HOST = socket.gethostname()[:255]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def history_row(
    revision: str,
    event: str,
    checksum: str | None,
    duration_ms: int | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """One history row: the event, and when, where (host, pid) and by which version it ran."""
    from .. import __version__

    return {
        "revision": revision,
        "event": event,
        "checksum": checksum,
        "applied_at": _now(),
        "duration_ms": duration_ms,
        "host": _HOST,
        "pid": os.getpid(),
        "tool_version": __version__,
        "detail": detail,
    }


def record(
    connection: Connection,
    table: Table,
    revision: str,
    event: str,
    checksum: str | None,
    duration_ms: int | None = None,
    detail: str | None = None,
) -> None:
    from ..apply.direct_statements import execute_cached

    row = history_row(revision, event, checksum, duration_ms, detail)
    on_asyncpg = connection.dialect.driver == "asyncpg"
    if on_asyncpg and execute_cached(connection, _asyncpg_insert(connection, table), tuple(row.values())):
        return
    # one INSERT construct per table, parameters bound per call: building ``.values(...)`` anew
    # for every revision cost more than the round trip on long histories
    insert = table.info.get("asyncmigrate_insert")
    if insert is None:
        insert = table.info["asyncmigrate_insert"] = table.insert()
    connection.execute(insert, row)


def history_insert_select(
    connection: Connection,
    table: Table,
    revision: str,
    event: str,
    checksum: str | None,
    duration_ms: int | None,
) -> str:
    """The row :func:`record` would write, as ``INSERT INTO history (...) SELECT <literals>``
    for a statement that adds ``FROM ...``: every value a literal the dialect quotes itself,
    cast to its column's type."""
    values = history_row(revision, event, checksum, duration_ms)
    prefix, columns, quote_string = _insert_select_parts(connection, table)
    literals = []
    for name, type_sql in columns:
        value = values[name]
        if value is None:
            literal = "NULL"
        elif isinstance(value, int):
            literal = str(int(value))
        else:
            literal = quote_string(value.isoformat() if isinstance(value, dt.datetime) else str(value))
        literals.append(f"CAST({literal} AS {type_sql})")
    return f"{prefix} SELECT {', '.join(literals)}"


def _insert_select_parts(
    connection: Connection, table: Table
) -> tuple[str, list[tuple[str, str]], Callable[[str], str]]:
    """``INSERT INTO history (...)``, each column's name and SQL type, and the dialect's own
    quoting of a string literal (it knows about backslash escapes): built once per table."""
    parts = table.info.get("asyncmigrate_insert_select")
    if parts is None:
        from sqlalchemy import String

        dialect = connection.dialect
        quote = dialect.identifier_preparer
        columns = [
            (c.name, dialect.type_compiler_instance.process(c.type)) for c in table.columns if c.name != "id"
        ]
        names = ", ".join(quote.quote(name) for name, _ in columns)
        quote_string = String().literal_processor(dialect)
        assert quote_string is not None
        parts = table.info["asyncmigrate_insert_select"] = (
            f"INSERT INTO {quote.format_table(table)} ({names})",
            columns,
            quote_string,
        )
    return parts


def _asyncpg_insert(connection: Connection, table: Table) -> str:
    """The history INSERT in asyncpg's $n placeholders, in the order :func:`record` binds."""
    sql = table.info.get("asyncmigrate_asyncpg_insert")
    if sql is None:
        quote = connection.dialect.identifier_preparer
        names = [c.name for c in table.columns if c.name != "id"]
        sql = table.info["asyncmigrate_asyncpg_insert"] = (
            f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(n) for n in names)})"
            f" VALUES ({', '.join(f'${i}' for i in range(1, len(names) + 1))})"
        )
    return sql


def ensure_history(
    connection: Connection, table: Table, directory: RevisionSource, current: Iterable[str]
) -> bool:
    """Create the side table if missing and adopt what is already applied. True if created."""
    from sqlalchemy import inspect

    if inspect(connection).has_table(table.name, schema=table.schema):
        return False
    table.create(connection)
    for revision in applied_revisions(directory, current):
        script = directory.get_revision(revision)
        record(connection, table, revision, ADOPTED, file_checksum(script.path if script else None))
    return True


def invalid_index_leftovers(connection: Connection, table: Table) -> list[str]:
    """INVALID indexes recorded by failed revisions that have not been applied since."""
    from sqlalchemy import inspect, select

    if not inspect(connection).has_table(table.name, schema=table.schema):
        return []
    leftovers: dict[str, list[str]] = {}
    rows = connection.execute(select(table.c.revision, table.c.event, table.c.detail).order_by(table.c.id))
    for revision, event, detail in rows:
        if event == FAILED and detail:
            leftovers[revision] = detail.split(",")
        elif event in (UPGRADE, DOWNGRADE):
            leftovers.pop(revision, None)
    return [index for indexes in leftovers.values() for index in indexes]


@dataclass(frozen=True)
class Event:
    id: int
    revision: str
    event: str
    checksum: str | None
    applied_at: dt.datetime


def read_events(connection: Connection, table: Table) -> list[Event] | None:
    """All events in order, or None when the side table does not exist."""
    from sqlalchemy import inspect, select

    if not inspect(connection).has_table(table.name, schema=table.schema):
        return None
    rows = connection.execute(
        select(table.c.id, table.c.revision, table.c.event, table.c.checksum, table.c.applied_at).order_by(
            table.c.id
        )
    )
    return [Event(*row) for row in rows]


def latest_events(events: list[Event]) -> dict[str, Event]:
    """Each revision's last event that moved it (applied, reverted, stamped, adopted)."""
    return {e.revision: e for e in events if e.event not in (FAILED, ACCEPTED)}


def live_revisions(events: list[Event] | None) -> list[str]:
    """The revisions the history says are applied now, in the order they were."""
    if events is None:
        return []
    latest = latest_events(events)
    return [rev for rev, e in sorted(latest.items(), key=lambda item: item[1].id) if e.event != DOWNGRADE]


@dataclass(frozen=True)
class Problem:
    """One finding of ``verify``."""

    kind: str  # edited | missing | out-of-order | multiple-heads | not-checked
    revision: str | None
    message: str


def checksum_of(script: Any) -> str | None:
    """The revision file's checksum: the graph cache already knows it; else read the file."""
    cached = getattr(script, "checksum", None)
    return cached if cached is not None else file_checksum(script.path)


def verify_history(
    directory: RevisionSource, current: tuple[str, ...], events: list[Event] | None
) -> list[Problem]:
    """Compare the database's history with the revision files."""
    problems: list[Problem] = []
    heads = directory.get_heads()
    if len(heads) > 1:
        problems.append(
            Problem(
                "multiple-heads",
                None,
                f"{len(heads)} heads ({', '.join(sorted(heads))}) without a merge: run"
                " 'asyncmigrate merge heads -m \"merge\"' and commit the new revision",
            )
        )
    known = {s.revision: s for s in directory.walk_revisions()}
    for rev in current:
        if rev not in known:
            problems.append(Problem("missing", rev, f"{rev} is in the version table but its file is gone"))
    if events is None:
        return problems
    latest = latest_events(events)
    accepted: dict[str, Event] = {}
    for event in events:
        if event.event == ACCEPTED:
            accepted[event.revision] = event
        elif event.event != FAILED:
            accepted.pop(event.revision, None)  # applied again since: checked afresh
    live = {rev: e for rev, e in latest.items() if e.event != DOWNGRADE}
    for rev, event in sorted(live.items(), key=lambda item: item[1].id):
        if rev in accepted:
            event = accepted[rev]
        if rev not in known:
            if rev not in current and rev not in accepted:
                problems.append(
                    Problem(
                        "missing",
                        rev,
                        f"{rev} was applied on {event.applied_at:%Y-%m-%d} but its file is gone",
                    )
                )
            continue
        checksum = checksum_of(known[rev])
        if event.checksum and checksum != event.checksum:
            problems.append(
                Problem(
                    "edited",
                    rev,
                    f"{rev} ({(known[rev].doc or '').strip()}) was edited after it was applied"
                    f" on {event.applied_at:%Y-%m-%d %H:%M}: {Path(known[rev].path).name}",
                )
            )
    applied = applied_revisions(directory, current)
    for rev in applied:
        if rev not in live:
            problems.append(
                Problem(
                    "out-of-order",
                    rev,
                    f"{rev} ({(known[rev].doc or '').strip()}) counts as applied but never ran here: it was"
                    " inserted below revisions that were already applied",
                )
            )
            continue
        script = known[rev]
        for parent in to_tuple(script.down_revision, default=()):
            if parent in live and live[parent].id > live[rev].id and live[rev].event == UPGRADE:
                problems.append(Problem("out-of-order", rev, f"{rev} was applied before its parent {parent}"))
    return problems


#: A :class:`Problem` of this kind is not a finding: it says what could not be checked.
NOT_CHECKED = "not-checked"


def unchecked(
    directory: RevisionSource, current: tuple[str, ...], events: list[Event] | None, history_table: str
) -> list[Problem]:
    """What :func:`verify_history` could not check, as ``not-checked`` entries: without the
    history table neither checksums nor the order of the applied revisions (only that their
    files exist); with it, applied revisions whose history rows carry no checksum."""
    known = {s.revision for s in directory.walk_revisions()}
    applied = [rev for rev in applied_revisions(directory, current) if rev in known]
    if not applied:
        return []
    count = f"{len(applied)} applied revision{'s' if len(applied) != 1 else ''}"
    if events is None:
        return [
            Problem(
                NOT_CHECKED,
                None,
                f"no history table ({history_table}): checksums and order not checked; {count} found"
                f" through the version table (at {', '.join(current)}), their files are present",
            )
        ]
    latest: dict[str, Event] = {}
    for event in events:
        if event.event != FAILED:
            latest[event.revision] = event
    blind = [rev for rev in applied if rev in latest and not latest[rev].checksum]
    if not blind:
        return []
    shown = ", ".join(blind[:5]) + (", ..." if len(blind) > 5 else "")
    return [
        Problem(
            NOT_CHECKED,
            None,
            f"{len(blind)} of {count} have no checksum in {history_table}, edits not checked: {shown}",
        )
    ]
