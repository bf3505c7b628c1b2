"""Benchmark: what the enum plugin (src/asyncmigrate/autogenerate/enums.py) adds to autogenerate.

Builds 100 tables that use 50 enum types of 20 values each (one column per table, every other
table an ARRAY of one), creates them on a new PostgreSQL database (create_all), then times
Alembic's comparison (``produce_migrations``) on the unchanged database, interleaved over
several rounds: our plugins without the enum one, and with it. Prints medians and the statements each
sends; then the plugin's comparator alone.
Run: bench/run enums --pg-url URL [--rounds 7] [--tables 100] [--enums 50] [--values 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import postgresql

sys.path.insert(0, str(Path(__file__).parent))
from asyncmigrate.autogenerate import autogenerate_plugins  # noqa: E402
from asyncmigrate.autogenerate.enums import PLUGIN_NAME, _compare  # noqa: E402
from stairway import create_pg_database  # noqa: E402


def models(tables: int, enums: int, values: int) -> sa.MetaData:
    metadata = sa.MetaData()
    types = [sa.Enum(*(f"v{i:02d}_{j:02d}" for j in range(values)), name=f"e{i:03d}") for i in range(enums)]
    for n in range(tables):
        enum = types[n % enums]
        sa.Table(
            f"t{n:04d}",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("state", enum, nullable=False, server_default=enum.enums[0]),
            sa.Column("history", postgresql.ARRAY(enum)) if n % 2 else sa.Column("note", sa.String(50)),
        )
    return metadata


def compare(connection: sa.Connection, metadata: sa.MetaData, plugins: list[str]) -> tuple[float, int, int]:
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    sa.event.listen(connection, "before_cursor_execute", count)
    started = time.perf_counter()
    try:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "target_metadata": metadata, "autogenerate_plugins": plugins},
        )
        script = produce_migrations(context, metadata)
    finally:
        sa.event.remove(connection, "before_cursor_execute", count)
    elapsed = time.perf_counter() - started
    assert script.upgrade_ops is not None
    return elapsed, len(sent), len(script.upgrade_ops.ops)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-url", required=True, help="an admin URL (postgresql+asyncpg://...)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tables", type=int, default=100)
    parser.add_argument("--enums", type=int, default=50)
    parser.add_argument("--values", type=int, default=20)
    args = parser.parse_args()
    url = sa.make_url(create_pg_database(args.pg_url)).set(drivername="postgresql+psycopg")
    metadata = models(args.tables, args.enums, args.values)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        metadata.create_all(connection)
    ours = autogenerate_plugins()
    kinds = {"without enums": [name for name in ours if name != PLUGIN_NAME], "with enums": ours}
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    statements: dict[str, int] = {}
    with engine.connect() as connection:
        for plugins in kinds.values():  # warm-up
            compare(connection, metadata, plugins)
        for _ in range(args.rounds):
            for kind, plugins in kinds.items():
                elapsed, sent, changes = compare(connection, metadata, plugins)
                assert changes == 0, f"{kind}: {changes} changes on an unchanged database"
                times[kind].append(elapsed)
                statements[kind] = sent
    with engine.connect() as connection:  # the plugin's own comparator alone, without the noise
        context = MigrationContext.configure(connection, opts={"target_metadata": metadata})
        alone = []
        for _ in range(args.rounds):
            upgrade = ops.UpgradeOps([])
            started = time.perf_counter()
            _compare(AutogenContext(context, metadata), upgrade)
            alone.append(time.perf_counter() - started)
            assert not upgrade.ops
    with engine.connect() as connection:  # the types go with the database; its tables first
        metadata.drop_all(connection)
        connection.commit()
    engine.dispose()
    admin = sa.create_engine(
        sa.make_url(args.pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{url.database}" WITH (FORCE)')
    admin.dispose()
    print(f"{args.tables} tables, {args.enums} enums of {args.values} values, {args.rounds} rounds")
    base = statistics.median(times["without enums"])
    for kind, measured in times.items():
        median = statistics.median(measured)
        print(
            f"  {kind:16} median {median * 1000:7.1f} ms  min {min(measured) * 1000:7.1f}"
            f"  max {max(measured) * 1000:7.1f}  x{median / base:.2f}  statements {statements[kind]}"
        )
    print(f"  the enum comparator alone: median {statistics.median(alone) * 1000:.1f} ms, one statement")


if __name__ == "__main__":
    main()
