"""Throwaway databases for migration tests: never the project's real one.

SQLite: a file in a temporary directory. PostgreSQL / MySQL / MariaDB: a new database on the
configured server (``CREATE DATABASE``, optionally from a template for speed), dropped afterwards.
The throwaway database keeps the server URL's driver, async or sync.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from ..apply.connect import create_engine_for, dispose, run_on_connection
from ..apply.server_wait import DEFAULT_CONNECT_TIMEOUT
from ..dialects import for_url
from ..errors import AsyncMigrateError, driver_errors


async def _admin(url: str, *statements: str, connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT) -> None:
    """Run ``statements`` outside a transaction, with the URL's own driver (async or sync)."""
    engine = create_engine_for(url, connect_timeout=connect_timeout)

    def run(connection: Connection) -> None:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            autocommit.execute(text(statement))

    try:
        await run_on_connection(engine, run)
    finally:
        await dispose(engine)


async def create_database(
    server_url: str,
    *,
    template: str | None = None,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
) -> str:
    """A new, empty database on the server of ``server_url``; returns its URL. ``connect_timeout``:
    seconds to wait for the server (the project's ``connect_timeout``), as every command does."""
    parsed = make_url(server_url)
    database = for_url(parsed)
    name = f"asyncmigrate_test_{uuid.uuid4().hex[:12]}"
    statement = database.create_database_sql(name, template)
    try:
        await _admin(server_url, statement, connect_timeout=connect_timeout)
    except Exception as exc:
        if not any(database.may_not_create(error, name) for error in driver_errors(exc)):
            raise
        role = parsed.username or "?"
        raise AsyncMigrateError(
            f"the role '{role}' may not create databases, and the migration tests run on a throwaway"
            f" database they create: {database.grant_to_create(role)}, or run 'asyncmigrate test'"
            " with --url naming a role that may (the project's own database is never used)"
        ) from exc
    return parsed.set(database=name).render_as_string(hide_password=False)


async def drop_database(
    server_url: str, database_url: str, *, connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT
) -> None:
    statement = for_url(server_url).drop_database_sql(make_url(database_url).database or "")
    await _admin(server_url, statement, connect_timeout=connect_timeout)


@contextlib.asynccontextmanager
async def scratch_database(
    server_url: str | None, *, connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT
) -> AsyncIterator[str]:
    """An empty database for the duration of the block, like the server at ``server_url``."""
    if server_url is None or for_url(server_url).embedded:
        # the server's driver, sync or async: a project's own env.py may only run with its own
        drivername = make_url(server_url).drivername if server_url else "sqlite+aiosqlite"
        directory = Path(tempfile.mkdtemp(prefix="asyncmigrate-test-"))
        try:
            yield f"{drivername}:///{directory / 'scratch.db'}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    url = await create_database(server_url, connect_timeout=connect_timeout)
    try:
        yield url
    finally:
        await drop_database(server_url, url, connect_timeout=connect_timeout)
