"""SQLite: a file (or memory); the apply lock is a lock file beside it; no session timeouts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from . import Database

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..apply.lock import ApplyLock


class SQLite(Database):
    backends: ClassVar[tuple[str, ...]] = ("sqlite",)
    async_driver: ClassVar[str] = "aiosqlite"

    def is_lock_timeout(self, error: BaseException) -> bool:
        return False  # "database is locked" is the busy timeout: another writer, not a DDL lock

    def cancels_statements(self, driver: str) -> bool:
        return False  # the stop request interrupts sqlite3 itself (environment.py)

    def apply_lock(
        self,
        engine: AsyncEngine | Engine | None,
        url: URL,
        version_table: str,
        version_table_schema: str | None,
    ) -> ApplyLock:
        from ..apply.lock import NoLock, SQLiteApplyLock

        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return NoLock()  # nobody else can see an in-memory database
        return SQLiteApplyLock(Path(database).resolve())
