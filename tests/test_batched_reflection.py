"""Batched reflection (reflection.py) against Alembic's own comparison, on real databases.

Generated schemas (indexes, unique constraints, FKs, enums, server defaults, SERIAL, BIGSERIAL
and identity keys, a shared sequence, comments, partial and expression indexes, a second schema
on PostgreSQL) are compared by plain ``compare_metadata`` and by ours: the diffs and the code
Alembic renders from them must be identical, unchanged and after real changes. Also counts the
statements each side sends.
"""

from __future__ import annotations

import gc
import random
import re
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, func, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate import Migrator
from asyncmigrate.apply.environment import MigrationJob
from asyncmigrate.autogenerate import autogenerate_plugins
from asyncmigrate.reflection.batched import (
    AUTOGENERATE_PLUGINS,
    SqliteCatalog,
    collector_paused,
    register,
)
from asyncmigrate.scaffold import init_project

OTHER = "other"

# SQLite reflects FKs without names: dropping one is rendered, with Alembic's warning, on both sides
pytestmark = pytest.mark.filterwarnings("ignore:Autogenerate rendered a drop_constraint")


def build_metadata(count: int, *, postgresql: bool, changed: bool = False) -> sa.MetaData:
    """``count`` tables in a chain of FKs; ``changed`` is the same schema after real edits."""
    metadata = sa.MetaData()
    mood = sa.Enum("happy", "sad", "meh" if changed else "ok", name="mood")
    kind = sa.Enum("a", "b", name="kind")
    for n in range(count):
        name = f"t{n:03d}"
        if postgresql and n % 3 == 1:
            key = sa.Column("id", sa.Integer, sa.Identity(), primary_key=True)
        elif n % 3 == 2:
            key = sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
        else:
            key = sa.Column("id", sa.Integer, primary_key=True)
        columns: list[Any] = [
            key,
            sa.Column("code", sa.String(80 if changed and n == 1 else 50), nullable=False),
            sa.Column("title", sa.String(100), nullable=changed and n == 2, comment="shown to users"),
            sa.Column("mood", mood, server_default="happy"),
            sa.Column("kind", kind, nullable=False, server_default="a"),
            sa.Column("price", sa.Numeric(10, 2), server_default=text("0")),
            sa.Column("active", sa.Boolean, server_default=sa.true(), nullable=False),
            sa.Column("created", sa.DateTime(timezone=True), server_default=func.now()),
        ]
        if not (changed and n == 3):
            columns.append(sa.Column("legacy", sa.Text))
        if changed and n == 4:
            columns.append(sa.Column("added", sa.Integer, nullable=True))
        if n and not (changed and n == 5):
            columns.append(sa.Column("parent_id", sa.ForeignKey(f"t{n - 1:03d}.id", ondelete="CASCADE")))
        if changed and n == 6:
            columns.append(sa.Column("root_id", sa.ForeignKey("t000.id")))
        if changed and n == 7:
            columns.append(sa.Column("big", sa.BigInteger))
        else:
            columns.append(sa.Column("big", sa.Integer))
        constraints: list[Any] = [
            sa.UniqueConstraint("code", name=f"uq_{name}_code"),
            sa.CheckConstraint("price >= 0", name=f"ck_{name}_price"),
            sa.Index(f"ix_{name}_title_kind", "title", "kind"),
        ]
        if n == 0:  # partial: SQLite reads its SQL by itself (one statement, whatever the table count)
            where = text("active")
            constraints.append(
                sa.Index(f"ix_{name}_active", "active", postgresql_where=where, sqlite_where=where)
            )
        if not (changed and n == 8):
            constraints.append(sa.Index(f"ix_{name}_created", "created", unique=n % 2 == 0))
        if changed and n == 9:
            constraints.append(sa.Index(f"ix_{name}_big", "big"))
        if postgresql and n % 4 == 0:
            constraints.append(sa.Index(f"ix_{name}_lower_code", text("lower(code)")))
        sa.Table(name, metadata, *columns, *constraints, comment=f"table {n}" if n % 2 else None)
    if postgresql:
        shared = sa.Sequence("shared_seq", metadata=metadata)
        sa.Table(
            "counters",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            # a nextval default on a sequence the column does not own: not a SERIAL
            sa.Column("ticket", sa.Integer, server_default=shared.next_value(), nullable=False),
            sa.Column("big_serial", sa.BigInteger, *([sa.Identity()] if changed else [])),
        )
        sa.Table(
            "accounts",
            metadata,
            sa.Column("id", sa.BigInteger, primary_key=True),
            sa.Column("owner_id", sa.ForeignKey("t000.id")),
            sa.Column("label", sa.String(30 if changed else 20)),
            sa.Index("ix_other_accounts_label", "label", unique=changed),
            schema=OTHER,
        )
    else:  # created from RAW_MIXED: no diff only if every UNIQUE in it is read back
        sa.Table(
            "raw_mixed",
            metadata,
            sa.Column("a", sa.Integer, unique=True),
            sa.Column("b", sa.Integer),
            sa.Column("c", sa.Integer),
            sa.UniqueConstraint("b", "c"),
            sa.UniqueConstraint("c"),
        )
    if not changed:
        sa.Table("dropped_later", metadata, sa.Column("id", sa.Integer, primary_key=True))
    else:
        sa.Table("added_later", metadata, sa.Column("id", sa.Integer, primary_key=True))
        # added tables come in dependency order, not name order
        sa.Table(
            "added_a",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("z_id", sa.ForeignKey("added_z.id")),
        )
        sa.Table("added_z", metadata, sa.Column("id", sa.Integer, primary_key=True))
    return metadata


async def on_database(url: str, work: Callable[[Connection], Any]) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.run_sync(work)
            await connection.commit()
            return result
    finally:
        await engine.dispose()


async def create(url: str, metadata: sa.MetaData) -> None:
    def run(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {OTHER}")
        metadata.create_all(connection, tables=[t for t in metadata.sorted_tables if t.name != "raw_mixed"])
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(RAW_MIXED)
        if connection.dialect.name == "postgresql":
            # an integer column drawing from the sequence id owns: not a SERIAL, so its default stays
            connection.exec_driver_sql("ALTER TABLE t000 ALTER COLUMN big SET DEFAULT nextval('t000_id_seq')")

    await on_database(url, run)


def described(diff: Any) -> str:
    """A diff as text: its repr, with the column names an FK's repr leaves as an object address."""
    text = repr(diff)
    for part in diff if isinstance(diff, tuple) else []:
        if isinstance(part, sa.ForeignKeyConstraint):
            text += f" fk{part.column_keys}->{[e.target_fullname for e in part.elements]}"
    return re.sub(r" at 0x[0-9a-f]+", "", text)


def compare(
    connection: Connection, metadata: sa.MetaData, batched: bool, server_defaults: bool = True
) -> tuple[list[str], str, int]:
    """Diffs (as text), rendered upgrade + downgrade code, and the statements sent."""
    sent: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    opts: dict[str, Any] = {
        "compare_type": True,
        "compare_server_default": server_defaults,
        "target_metadata": metadata,
        "include_schemas": connection.dialect.name == "postgresql",
    }
    if batched:
        register()
        opts["autogenerate_plugins"] = AUTOGENERATE_PLUGINS
    event.listen(connection, "before_cursor_execute", count)
    try:
        context = MigrationContext.configure(connection, opts=opts)
        script = produce_migrations(context, metadata)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    upgrade = script.upgrade_ops
    assert upgrade is not None and script.downgrade_ops is not None
    diffs = [described(diff) for diff in upgrade.as_diffs()]
    code = render_python_code(upgrade) + render_python_code(script.downgrade_ops)
    return diffs, code, len(sent)


async def both(
    url: str, metadata: sa.MetaData, server_defaults: bool = True
) -> tuple[tuple[list[str], str, int], tuple[list[str], str, int]]:
    def run(connection: Connection) -> Any:
        return (
            compare(connection, metadata, False, server_defaults),
            compare(connection, metadata, True, server_defaults),
        )

    return await on_database(url, run)


@pytest.mark.parametrize("state", ["unchanged", "changed"])
async def test_same_diffs_as_alembic(db_url: str, state: str) -> None:
    postgresql = db_url.startswith("postgresql")
    await create(db_url, build_metadata(12, postgresql=postgresql))
    target = build_metadata(12, postgresql=postgresql, changed=state == "changed")
    (plain_diffs, plain_code, plain_sent), (our_diffs, our_code, our_sent) = await both(db_url, target)
    assert our_diffs == plain_diffs
    assert our_code == plain_code
    assert our_sent < plain_sent
    if state == "changed":
        rendered = "\n".join(plain_diffs)
        for expected in ("add_column", "remove_column", "add_index", "remove_index", "add_fk", "remove_fk"):
            assert expected in rendered, expected
        for expected in ("modify_type", "modify_nullable", "add_table", "remove_table"):
            assert expected in rendered, expected
    elif not postgresql:
        assert plain_diffs == []
    if postgresql:
        assert any("modify_default" in diff and "'t000', 'big'" in diff for diff in plain_diffs)


async def statements_by_size(urls: dict[int, str], postgresql: bool) -> dict[int, tuple[int, int]]:
    """(alembic's, ours) statement counts for each table count, with identical diffs."""
    sent: dict[int, tuple[int, int]] = {}
    for count, url in urls.items():
        metadata = build_metadata(count, postgresql=postgresql)
        await create(url, metadata)
        # compare_server_default (off by default) asks the server to compare some defaults itself
        (plain_diffs, plain_code, plain_sent), (our_diffs, our_code, our_sent) = await both(
            url, metadata, False
        )
        assert (our_diffs, our_code) == (plain_diffs, plain_code)
        sent[count] = (plain_sent, our_sent)
    return sent


async def test_statements_do_not_grow_with_tables_sqlite(tmp_path: Path) -> None:
    """Alembic sends ~12 statements per table on SQLite; ours a fixed handful."""
    sent = await statements_by_size(
        {n: f"sqlite+aiosqlite:///{tmp_path / f'{n}.db'}" for n in (6, 30)}, False
    )
    assert sent[30][0] > sent[6][0] + 24 * 10
    assert sent[30][1] == sent[6][1] <= 12


async def test_statements_do_not_grow_with_tables_postgresql(pg_url: str, pg_url_2: str) -> None:
    """Alembic sends one query per SERIAL column on PostgreSQL; ours the same few for any size."""
    sent = await statements_by_size({6: pg_url, 30: pg_url_2}, True)
    # one per SERIAL/BIGSERIAL key (2 tables in 3); more when Alembic happens to visit "other"
    # first (set order), since it then reflects each public table on its own
    assert sent[30][0] >= sent[6][0] + 16
    # about ten get_multi_* reads per schema (two here), the schema names, one sequence query
    assert sent[30][1] == sent[6][1] <= 26


async def test_sqlite_catalog_equals_the_pragmas(tmp_path: Path) -> None:
    """Every row the batch serves is the row SQLite's PRAGMA returns for that table."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"
    await create(url, build_metadata(8, postgresql=False))

    def check(connection: Connection) -> None:
        for statement in RAW_SQLITE_TABLES:
            connection.exec_driver_sql(statement)
        catalog = SqliteCatalog.read(connection)
        assert catalog is not None
        dialect = connection.dialect
        served = catalog.serving(dialect)
        found = []
        for table in sa.inspect(connection).get_table_names():
            ours = served.get_unique_constraints(connection, table)
            assert ours == dialect.get_unique_constraints(connection, table), table
            found.extend(ours)
        assert {"name": "quoted name", "column_names": ["d"]} in found
        assert {"name": None, "column_names": ["b c"]} in found
        for table in sa.inspect(connection).get_table_names():
            for pragma in ("table_xinfo", "index_list", "foreign_key_list"):
                real = [tuple(row) for row in dialect._get_table_pragma(connection, pragma, table)]
                assert catalog.pragmas[pragma][table] == real, (pragma, table)
            for index in catalog.pragmas["index_list"][table]:
                real = [tuple(row) for row in dialect._get_table_pragma(connection, "index_info", index[1])]
                assert catalog.pragmas["index_info"][index[1]] == real
            assert catalog.sql[table] == dialect._get_table_sql(connection, table)

    await on_database(url, check)


def as_text(reflected: dict[Any, Any]) -> dict[Any, str]:
    """Reflected entries by table, as text: type objects do not compare equal by value (and
    objects that render as their address lose it)."""
    return {key: re.sub(r" at 0x[0-9a-f]+", "", repr(value)) for key, value in reflected.items()}


async def test_sqlite_catalog_is_released_once_alembic_has_its_cache(tmp_path: Path) -> None:
    """After the pre-load, Alembic's merged cache holds what the batch served (equal to plain
    get_multi_* reads); the batch's rows and SQLAlchemy's per-table cache entries are gone."""
    from alembic.autogenerate.api import AutogenContext

    from asyncmigrate.reflection.batched import _install, _pre_cache_schemas

    url = f"sqlite+aiosqlite:///{tmp_path / 'released.db'}"
    metadata = build_metadata(6, postgresql=False)
    await create(url, metadata)

    def check(connection: Connection) -> None:
        register()
        context = MigrationContext.configure(connection, opts={"target_metadata": metadata})
        autogen = AutogenContext(context, metadata)
        _install(autogen, None)
        catalog = SqliteCatalog.of(autogen.inspector)
        assert catalog is not None and catalog.pragmas["table_xinfo"]
        _pre_cache_schemas(autogen, None, {None})
        assert catalog.pragmas == {} and catalog.sql == {}
        cache = autogen.inspector.info_cache
        assert [key for key in cache if isinstance(key, tuple) and key[0] != "get_table_names"] == []
        plain = sa.inspect(connection)
        tables = [t for t in plain.get_table_names() if t != "alembic_version"]
        assert len(cache["alembic_columns"]) == len(tables) >= 6
        for key in ("columns", "pk_constraint", "indexes", "unique_constraints", "foreign_keys"):
            read = getattr(plain, f"get_multi_{key}")(filter_names=tables)
            assert as_text(cache[f"alembic_{key}"]) == as_text(read), key
        # a read after the release is answered by SQLite itself
        assert repr(autogen.inspector.get_columns(tables[0])) == repr(plain.get_columns(tables[0]))

    await on_database(url, check)


#: A table of build_metadata on SQLite, created from this statement: UNIQUE inline and as constraints.
RAW_MIXED = "CREATE TABLE raw_mixed (a INT UNIQUE, b INT, c INT, UNIQUE (b, c), UNIQUE (c))"
#: UNIQUE written every way SQLite's dialect looks for it: inline, named, quoted, several columns.
RAW_SQLITE_TABLES = [
    'CREATE TABLE raw_inline (id INTEGER PRIMARY KEY, a TEXT UNIQUE, "b c" TEXT NOT NULL UNIQUE, z INT)',
    'CREATE TABLE raw_named (id INT, d INT, e INT, f INT, CONSTRAINT "quoted name" UNIQUE (d),'
    " CONSTRAINT plain UNIQUE (e, f), PRIMARY KEY (id, d))",
    "CREATE TABLE raw_index_only (a INT, b INT)",
    "CREATE UNIQUE INDEX ux_raw_index_only ON raw_index_only (a)",
    "CREATE TABLE [raw_bracket] ([x] INT UNIQUE, `y` INT UNIQUE)",
]


async def test_sqlite_temporary_tables_turn_the_batch_off(tmp_path: Path) -> None:
    """PRAGMA falls back to temp.*: with temporary tables, the batch cannot stand in for it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'temp.db'}"
    await create(url, build_metadata(3, postgresql=False))

    def check(connection: Connection) -> None:
        assert SqliteCatalog.read(connection) is not None
        connection.exec_driver_sql("CREATE TEMPORARY TABLE scratch (id INTEGER)")
        assert SqliteCatalog.read(connection) is None
        metadata = build_metadata(3, postgresql=False)
        plain, ours = compare(connection, metadata, False), compare(connection, metadata, True)
        assert plain[:2] == ours[:2]

    await on_database(url, check)


async def test_migrator_check_and_autogenerate_use_the_batch(tmp_path: Path, db_url: str) -> None:
    """Migrator.check reports what plain Alembic finds, through the batched path."""
    postgresql = db_url.startswith("postgresql")
    project = tmp_path / "project"
    project.mkdir()
    init_project(project_dir=project, models="unused")
    await create(db_url, build_metadata(6, postgresql=postgresql))
    target = build_metadata(6, postgresql=postgresql, changed=True)
    jobs: list[MigrationJob] = []
    migrator = Migrator(url=db_url, project_dir=project, metadata=target)
    original = migrator._runner.online

    async def spy(command: Any, job: MigrationJob) -> Any:
        jobs.append(job)
        return await original(command, job)

    migrator._runner.online = spy  # type: ignore[method-assign]
    result = await migrator.check()
    assert jobs and jobs[-1].batched_reflection

    def plain(connection: Connection) -> list[str]:
        # Our env.py's options but the batch: server defaults compared, our other plugins on.
        opts = {
            "compare_type": True,
            "compare_server_default": True,
            "target_metadata": target,
            "autogenerate_plugins": autogenerate_plugins(),
        }
        context = MigrationContext.configure(connection, opts=opts)
        script = produce_migrations(context, target)
        assert script.upgrade_ops is not None
        return [described(diff) for diff in script.upgrade_ops.as_diffs()]

    expected = await on_database(db_url, plain)
    assert [described(diff) for diff in result.diffs] == expected
    [path] = await migrator.revision("changes", autogenerate=True)
    assert jobs[-1].batched_reflection
    assert "op.add_column" in path.read_text() or "batch_op.add_column" in path.read_text()


def test_plain_alembic_runs_do_not_batch(tmp_path: Path) -> None:
    """A run started by the ``alembic`` command (or a foreign env.py) keeps Alembic's reads."""
    from alembic.config import Config

    from asyncmigrate.apply.environment import _plain_alembic_job

    init_project(project_dir=tmp_path, models="unused")
    config = Config(toml_file=str(tmp_path / "pyproject.toml"))
    assert not _plain_alembic_job(config).batched_reflection


def dag_metadata(count: int, seed: int) -> sa.MetaData:
    """Tables with random names, each with FKs to a few random others (no cycle)."""
    rng = random.Random(seed)
    metadata = sa.MetaData()
    names = [f"{'s1.' if n % 5 == 0 else ''}n{rng.randrange(10**6):06d}_{n}" for n in range(count)]
    for n, name in enumerate(names):
        parents = rng.sample(names[:n], min(n, rng.randrange(4)))
        fks = [sa.Column(f"p{k}", sa.ForeignKey(f"{p}.id")) for k, p in enumerate(parents)]
        if n % 7 == 0:
            fks.append(sa.Column("me", sa.ForeignKey(f"{name}.id")))  # to itself: no dependency
        schema, _, table = name.rpartition(".")
        sa.Table(table, metadata, sa.Column("id", sa.Integer, primary_key=True), *fks, schema=schema or None)
    return metadata


def cyclic_metadata(use_alter: bool) -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "a",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("b_id", sa.ForeignKey("b.id", use_alter=use_alter)),
    )
    sa.Table(
        "b", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("a_id", sa.ForeignKey("a.id"))
    )
    sa.Table(
        "c", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("b_id", sa.ForeignKey("b.id"))
    )
    return metadata


def extra_dependency_metadata() -> sa.MetaData:
    metadata = sa.MetaData()
    first = sa.Table("first", metadata, sa.Column("id", sa.Integer, primary_key=True))
    second = sa.Table("second", metadata, sa.Column("id", sa.Integer, primary_key=True))
    first.add_is_dependent_on(second)
    other = sa.MetaData()  # an FK to a table of another MetaData is no dependency here
    outside = sa.Table("outside", other, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "inside",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("o_id", sa.ForeignKey(outside.c.id)),
    )
    return metadata


@pytest.fixture
def command_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as the command's own (what ``asyncmigrate``'s console script declares)."""
    from asyncmigrate.cli import process

    monkeypatch.setattr(process, "_owned", True)


def test_collector_is_left_alone_outside_the_command_process() -> None:
    """A Migrator awaited in an app: the app's collector is not paused."""
    assert gc.isenabled()
    with collector_paused():
        assert gc.isenabled()


@pytest.mark.usefixtures("command_process")
def test_collector_paused_keeps_objects_and_collects_garbage_later() -> None:
    """After the pause, what lived is kept, garbage cycles made meanwhile are still collected,
    and nothing stays frozen."""
    assert gc.isenabled()

    class Node:
        pass

    kept = []
    with collector_paused():
        assert not gc.isenabled()
        for _ in range(1000):
            node = Node()
            node.me = node  # type: ignore[attr-defined]
            kept.append(node)
        garbage = Node()
        garbage.me = garbage  # type: ignore[attr-defined]
        probe = weakref.ref(garbage)
        del garbage
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert probe() is not None  # not scanned on the way out
    gc.collect()
    assert probe() is None
    assert len(kept) == 1000 and all(node.me is node for node in kept)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("command_process")
def test_collector_paused_leaves_a_callers_frozen_objects_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            [[] for _ in range(100)]
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()


def test_cli_leaves_the_heap_to_the_os_only_when_the_process_exits() -> None:
    """The console entry point freezes the heap on its way out; a caller passing argv keeps it."""
    import subprocess
    import sys

    from asyncmigrate.cli.main import main

    with pytest.raises(SystemExit):
        main(["--version"])
    assert gc.get_freeze_count() == 0
    script = (
        "import atexit, gc; atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0));"
        " from asyncmigrate.cli.main import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", script, "--version"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "frozen True"
