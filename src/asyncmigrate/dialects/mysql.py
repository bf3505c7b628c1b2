"""MySQL and MariaDB: DDL commits as it runs, session lock waits, a named lock (GET_LOCK)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, ClassVar

from ..apply.lock import ConnectionLock, LockHolder
from ..errors import mysql_code
from . import Database

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..apply.environment import ApplyOptions
    from ..apply.lock import ApplyLock


class MySQL(Database):
    backends: ClassVar[tuple[str, ...]] = ("mysql", "mariadb")
    # a row may hold 65535 bytes: 30 columns of VARCHAR(500) in utf8mb4
    mirror_width: ClassVar[int] = 30
    async_driver: ClassVar[str] = "asyncmy"
    extra: ClassVar[str] = "mysql"
    default_port: ClassVar[int | None] = 3306
    # every DDL statement commits: a failed or stopped revision leaves what ran before it
    transactional_ddl: ClassVar[bool] = False
    alter_repeats_autoincrement: ClassVar[bool] = True

    def timeout_statements(self, dialect: Any, options: ApplyOptions) -> list[str]:
        statements = []
        if options.lock_timeout:
            seconds = max(1, round(options.lock_timeout))
            statements += [
                f"SET SESSION lock_wait_timeout = {seconds}",
                f"SET SESSION innodb_lock_wait_timeout = {seconds}",
            ]
        if getattr(dialect, "is_mariadb", False):  # MySQL's max_execution_time is SELECT-only
            statements.append(f"SET SESSION max_statement_time = {options.statement_timeout}")
        return statements

    def reset_statements(self, dialect: Any) -> list[str]:
        statements = [
            "SET SESSION lock_wait_timeout = DEFAULT",
            "SET SESSION innodb_lock_wait_timeout = DEFAULT",
        ]
        if getattr(dialect, "is_mariadb", False):
            statements.append("SET SESSION max_statement_time = DEFAULT")
        return statements

    def is_lock_timeout(self, error: BaseException) -> bool:
        # 1205 ER_LOCK_WAIT_TIMEOUT (metadata locks report it too)
        return mysql_code(error) == 1205 or "Lock wait timeout exceeded" in str(error)

    def apply_lock(
        self,
        engine: AsyncEngine | Engine | None,
        url: URL,
        version_table: str,
        version_table_schema: str | None,
    ) -> ApplyLock:
        assert engine is not None
        return MySQLApplyLock(engine, lock_name(url.database or "", version_table))

    def create_database_sql(self, name: str, template: str | None = None) -> str:
        return f"CREATE DATABASE `{name}`"

    def drop_database_sql(self, name: str) -> str:
        return f"DROP DATABASE IF EXISTS `{name}`"

    def may_not_create(self, error: BaseException, name: str) -> bool:
        # 1044 access denied to the new database (not to the one connected to)
        return mysql_code(error) == 1044 and name in str(error)

    def grant_to_create(self, role: str) -> str:
        return f"GRANT CREATE, DROP ON *.* TO '{role}'"

    def drop_temporary_sql(self, name: str) -> str | None:
        # A plain DROP TABLE commits the transaction; DROP TEMPORARY TABLE does not.
        return f"DROP TEMPORARY TABLE IF EXISTS `{name}`"

    def wipe(self, connection: Connection) -> None:
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        rows = connection.exec_driver_sql(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE()"
        ).all()
        for object_name, kind in rows:
            keyword = "VIEW" if kind == "VIEW" else "TABLE"
            connection.exec_driver_sql(f"DROP {keyword} IF EXISTS `{object_name}`")
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


def lock_name(database: str, version_table: str) -> str:
    """The ``GET_LOCK`` name of a database's version table (64 characters at most)."""
    digest = hashlib.sha256(f"{database}.{version_table}".encode()).hexdigest()[:40]
    return f"asyncmigrate:{digest}"


class MySQLApplyLock(ConnectionLock):
    """``GET_LOCK(name, 0)`` on a connection of its own, polled like PostgreSQL's."""

    def __init__(self, engine: AsyncEngine | Engine, name: str) -> None:
        super().__init__(engine)
        self.name = name
        self._held = False

    async def _try(self) -> bool:
        self._held = (await self._scalar("SELECT GET_LOCK(:name, 0)", name=self.name)) == 1
        return self._held

    async def _unlock(self) -> None:
        if self._held:
            await self._scalar("SELECT RELEASE_LOCK(:name)", name=self.name)
            self._held = False

    async def holder(self) -> LockHolder | None:
        owner = await self._scalar("SELECT IS_USED_LOCK(:name)", name=self.name)
        if owner is None:
            return None
        result = await self._execute(
            "SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = :id", id=owner
        )
        row = result.first()
        if row is None:
            return LockHolder(f"connection {owner}")
        return LockHolder(f"connection {owner} ({row[0]}@{row[1]}, for {row[2]}s)")
