"""MySQL and MariaDB: DDL commits as it runs, session lock waits, a named lock (GET_LOCK)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import mysql_code
from . import Database

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..apply.environment import ApplyOptions
    from ..apply.lock import ApplyLock


class MySQL(Database):
    backends: ClassVar[tuple[str, ...]] = ("mysql", "mariadb")
    async_driver: ClassVar[str] = "asyncmy"
    default_port: ClassVar[int | None] = 3306
    # every DDL statement commits: a failed or stopped revision leaves what ran before it
    transactional_ddl: ClassVar[bool] = False

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
        from ..apply.lock import MySQLApplyLock

        assert engine is not None
        digest = hashlib.sha256(f"{url.database or ''}.{version_table}".encode()).hexdigest()[:40]
        return MySQLApplyLock(engine, f"asyncmigrate:{digest}")

    def create_database_sql(self, name: str, template: str | None = None) -> str:
        return f"CREATE DATABASE `{name}`"

    def drop_database_sql(self, name: str) -> str:
        return f"DROP DATABASE IF EXISTS `{name}`"

    def may_not_create(self, error: BaseException, name: str) -> bool:
        # 1044 access denied to the new database (not to the one connected to)
        return mysql_code(error) == 1044 and name in str(error)

    def grant_to_create(self, role: str) -> str:
        return f"GRANT CREATE, DROP ON *.* TO '{role}'"
