"""PostgreSQL: transactional DDL, session timeouts, an advisory lock, INVALID index cleanup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import sqlstate
from . import Database

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..apply.environment import ApplyOptions
    from ..apply.lock import ApplyLock


class PostgreSQL(Database):
    backends: ClassVar[tuple[str, ...]] = ("postgresql",)
    async_driver: ClassVar[str] = "asyncpg"
    default_port: ClassVar[int | None] = 5432
    leaves_invalid_indexes: ClassVar[bool] = True  # a failed CREATE INDEX CONCURRENTLY

    def timeout_statements(self, dialect: Any, options: ApplyOptions) -> list[str]:
        return [
            f"SET lock_timeout = '{int(options.lock_timeout * 1000)}ms'",
            f"SET statement_timeout = '{int(options.statement_timeout * 1000)}ms'",
        ]

    def reset_statements(self, dialect: Any) -> list[str]:
        return ["RESET lock_timeout", "RESET statement_timeout"]

    def is_lock_timeout(self, error: BaseException) -> bool:
        # 55P03 lock_not_available; the text for drivers that do not carry the code
        return sqlstate(error) == "55P03" or "lock timeout" in str(error)

    def cancels_statements(self, driver: str) -> bool:
        # asyncpg cancels the running statement when its task is cancelled; the revision's
        # transaction then rolls back, DDL included
        return driver == "asyncpg"

    def apply_lock(
        self,
        engine: AsyncEngine | Engine | None,
        url: URL,
        version_table: str,
        version_table_schema: str | None,
    ) -> ApplyLock:
        from ..apply.lock import PostgresApplyLock, lock_key

        assert engine is not None
        return PostgresApplyLock(engine, lock_key(url.database or "", version_table, version_table_schema))

    def invalid_indexes(self, connection: Connection) -> list[str]:
        rows = connection.exec_driver_sql(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid ORDER BY 1"
        )
        return [row[0] for row in rows]

    def create_database_sql(self, name: str, template: str | None = None) -> str:
        suffix = f' TEMPLATE "{template}"' if template else ""
        return f'CREATE DATABASE "{name}"{suffix}'

    def drop_database_sql(self, name: str) -> str:
        return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'

    def may_not_create(self, error: BaseException, name: str) -> bool:
        return sqlstate(error) == "42501"  # insufficient_privilege

    def grant_to_create(self, role: str) -> str:
        return f'ALTER ROLE "{role}" CREATEDB'
