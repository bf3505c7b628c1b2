"""Autogenerate on an unchanged database writes nothing: server defaults, computed and identity
columns, CHECK constraints, partitions of a partitioned table and types from outside SQLAlchemy
come back from the database in its own spelling, which must not read as a change. And the
revision that creates them imports what it names, so it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate.autogenerate import autogenerate_plugins
from asyncmigrate.scaffold import init_project

from .conftest import drop_database, fresh_database, run_cli

#: A package the models import their column types from, as from sqlalchemy-utils or GeoAlchemy:
#: a type of its own DDL and a TypeDecorator with an argument.
TYPES_PACKAGE = """\
import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator, UserDefinedType


class Money(UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw):
        return "NUMERIC(12, 2)"


class Slug(TypeDecorator):
    impl = sa.String
    cache_ok = True

    def __init__(self, length=40):
        super().__init__(length)
        self.length = length
"""

COMMON = """\
import datetime
import decimal

import sqlalchemy as sa
from sqlalchemy import CheckConstraint, Computed, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shop_types import Money, Slug


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("qty > 0 AND qty < 1000", name="qty_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    price: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2), server_default="0")
    qty: Mapped[int] = mapped_column(server_default=text("1"))
    name: Mapped[str] = mapped_column(sa.String(50), server_default="it's new")
    ratio: Mapped[float] = mapped_column(sa.Float, server_default="0.5")
    flag: Mapped[bool] = mapped_column(server_default=sa.true())
    off: Mapped[bool] = mapped_column(server_default=sa.false())
    created: Mapped[datetime.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=func.now())
    touched: Mapped[datetime.datetime] = mapped_column(server_default=text("CURRENT_TIMESTAMP"))
    kind: Mapped[str] = mapped_column(sa.String(10), server_default=text("'plain'"))
    # (A type with a comma, NUMERIC(12, 2), would not do on SQLite: SQLAlchemy reflects its
    # generation expression as empty, and a batch ALTER then writes GENERATED ALWAYS AS ().)
    double: Mapped[int | None] = mapped_column(Computed("qty * 2"))
    lower_name: Mapped[str | None] = mapped_column(sa.String(50), Computed("lower(name)", persisted=True))
    amount = mapped_column(Money())
    slug = mapped_column(Slug(30))
    status: Mapped[str] = mapped_column(sa.Enum("new", "done", name="status"), server_default="new")


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(50), server_default="it's a tag")
    weight: Mapped[int] = mapped_column(server_default=text("7"))
"""

#: PostgreSQL's own: identity columns, a sequence default, casts, arrays (of an enum in another
#: schema too), JSONB, a partitioned table (its partition made by a revision, as pg_partman or a
#: hand-written one would).
POSTGRESQL = """
from sqlalchemy import Identity, Sequence
from sqlalchemy.dialects import postgresql as pg

from asyncmigrate.autogenerate import View, declare

order_numbers = Sequence("order_numbers", start=100, increment=2)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(sa.BigInteger, Identity(always=True), primary_key=True)
    ref: Mapped[int] = mapped_column(Identity(start=10, increment=5))
    number: Mapped[int] = mapped_column(order_numbers, server_default=order_numbers.next_value())
    tags: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.String), server_default=text("'{}'"))
    meta: Mapped[dict] = mapped_column(pg.JSONB, server_default=text("'{}'::jsonb"))
    wait: Mapped[datetime.timedelta] = mapped_column(sa.Interval, server_default=text("'1 day'"))
    due: Mapped[datetime.datetime] = mapped_column(server_default=text("timezone('utc', now())"))
    uid: Mapped[str] = mapped_column(pg.UUID, server_default=text("gen_random_uuid()"))
    moods: Mapped[list[str]] = mapped_column(
        pg.ARRAY(sa.Enum("calm", "busy", name="mood", schema="extra")), server_default=text("'{calm}'")
    )


declare(
    Base.metadata,
    View("cheap_items", "SELECT id, name, price FROM items WHERE price < 10"),
    View("cheap_count", "SELECT count(*) AS n FROM cheap_items", materialized=True),
)


class Reading(Base):
    __tablename__ = "readings"
    __table_args__ = {"postgresql_partition_by": "RANGE (taken)"}
    sensor: Mapped[int] = mapped_column(primary_key=True)
    taken: Mapped[datetime.date] = mapped_column(primary_key=True)
    value: Mapped[int]
"""

#: What the first revision gets by hand on PostgreSQL: a partition is made by a revision (or
#: pg_partman), not declared by a model.
PARTITION = (
    '    op.execute("CREATE TABLE readings_2026 PARTITION OF readings'
    " FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')\")\n"
)
END = "    # ### end Alembic commands ###"
COMMANDS = "    # ### commands auto generated by Alembic - please adjust! ###\n"
SCHEMA = '    op.execute("CREATE SCHEMA extra")\n'
VIEW = '    op.execute("CREATE VIEW cheap_items AS SELECT id, name FROM items WHERE price < 10")\n'
DROP_VIEW = '    op.execute("DROP VIEW cheap_items")\n'
DROP_SCHEMA = '    op.execute("DROP SCHEMA extra")\n'


def models(kind: str) -> str:
    return COMMON + (POSTGRESQL if kind == "postgresql" else "")


def cli(root: Path, *args: str) -> str:
    result = run_cli(*args, cwd=root)
    assert result.returncode == 0, result.output
    return result.output


def autogenerate(root: Path, message: str) -> Path:
    versions = root / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    cli(root, "revision", "--autogenerate", "-m", message)
    [new] = set(versions.glob("*.py")) - before
    return new


def body(source: str, function: str) -> list[str]:
    """The statements of ``upgrade`` or ``downgrade``, comments and docstrings left out."""
    part = source.split(f"def {function}()")[1].split("\ndef ")[0]
    return [
        line.strip()
        for line in part.splitlines()[1:]
        if line.strip() and not line.strip().startswith(("#", '"""'))
    ]


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
async def project(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    kind = request.param
    url = await fresh_database(kind, tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    (root / "shop_types.py").write_text(TYPES_PACKAGE)
    (root / "app_models.py").write_text(models(kind))
    init_project(project_dir=root, models="app_models")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("[tool.asyncmigrate]\n", f'[tool.asyncmigrate]\nurl = "{url}"\n', 1)
    )
    try:
        yield kind, root, url
    finally:
        await drop_database(kind, url)


async def test_an_unchanged_database_gives_no_changes(project: tuple[str, Path, str]) -> None:
    kind, root, url = project
    first = autogenerate(root, "create")
    source = first.read_text()
    # The revision imports the module of the types it names, so it runs (Alembic alone writes
    # shop_types.Money() and no import).
    assert "import shop_types\n" in source and "shop_types.Money()" in source, source
    assert "shop_types.Slug(length=30)" in source
    if kind == "postgresql":
        # The sequence the column takes its numbers from is created first (Alembic writes none).
        create = "op.execute(sa.schema.CreateSequence(sa.Sequence('order_numbers', start=100, increment=2)))"
        assert source.index(create) < source.index("op.create_table('orders'"), source
        drop = "op.execute(sa.schema.DropSequence(sa.Sequence('order_numbers', start=100, increment=2)))"
        assert source.index(drop) > source.index("op.drop_table('orders')")
        # The schema of the array's enum is the revision's to make: autogenerate makes none.
        upgrade, downgrade = source.split("def downgrade")
        upgrade = upgrade.replace(COMMANDS, COMMANDS + SCHEMA, 1).replace(END, PARTITION + END, 1)
        downgrade = downgrade.replace(END, DROP_SCHEMA + END, 1)
        first.write_text(upgrade + "def downgrade" + downgrade)
    else:
        # A view made by a revision (declared views are PostgreSQL's): Alembic compares tables
        # only, and the view must not read as one.
        upgrade, downgrade = source.split("def downgrade")
        upgrade = upgrade.replace(END, VIEW + END, 1)
        downgrade = downgrade.replace(COMMANDS, COMMANDS + DROP_VIEW, 1)
        first.write_text(upgrade + "def downgrade" + downgrade)
    cli(root, "upgrade", "head")
    if kind == "postgresql":
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            partitions = await connection.scalar(
                text("SELECT count(*) FROM pg_class WHERE relispartition AND relkind = 'r'")
            )
        await engine.dispose()
        assert partitions == 1

    output = cli(root, "check")
    assert "No changes" in output, output
    assert "cannot be modified" not in output  # Alembic's warning for computed columns
    second = autogenerate(root, "nothing")
    assert body(second.read_text(), "upgrade") == ["pass"], second.read_text()
    assert body(second.read_text(), "downgrade") == ["pass"]
    second.unlink()

    # A real change is still one: exactly the defaults that changed. (In a table without
    # computed columns: Alembic's batch mode on SQLite copies the rows of a table with one
    # into its generated column, which SQLite refuses.)
    changed = models(kind).replace('server_default="it\'s a tag"', 'server_default="it\'s the tag"')
    changed = changed.replace('server_default=text("7")', 'server_default=text("8")')
    (root / "app_models.py").write_text(changed)
    result = run_cli("check", cwd=root)
    assert result.returncode == 1, result.output
    assert "2 changes" in result.output, result.output
    assert "it's the tag" in result.output and "'8'" in result.output
    third = autogenerate(root, "defaults")
    cli(root, "upgrade", "head")
    assert "No changes" in cli(root, "check")
    # Each revision goes up, down and up again on a scratch database (sequence, partition, types).
    stairway = run_cli("test", "stairway", cwd=root)
    assert stairway.returncode == 0, stairway.output
    # The downgrade puts the old defaults back: the old models match again.
    cli(root, "downgrade", "-1")
    third.unlink()
    (root / "app_models.py").write_text(models(kind))
    assert "No changes" in cli(root, "check")


async def test_a_projects_own_env_py_gets_the_same_comparison(tmp_path: Path) -> None:
    """``autogenerate_plugins()`` in a project's own ``context.configure``: Alembic's API compares
    a table made by ``create_all`` with its models and finds nothing, where Alembic's own rules
    report the MariaDB-normalised defaults (or fail on PostgreSQL's quote) as changes."""
    url = await fresh_database("sqlite", tmp_path)
    metadata = sa.MetaData()
    sa.Table(
        "t",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created", sa.DateTime, server_default=sa.func.now()),
        sa.Column("note", sa.String(20), server_default="it's"),
        sa.Column("twice", sa.Integer, sa.Computed("id * 2")),
    )
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    try:
        with engine.begin() as connection:
            metadata.create_all(connection)
        with engine.connect() as connection:
            options = {"compare_server_default": True, "target_metadata": metadata}
            plain = MigrationContext.configure(connection, opts=options)
            ours = MigrationContext.configure(
                connection, opts={**options, "autogenerate_plugins": autogenerate_plugins()}
            )
            assert compare_metadata(plain, metadata), "Alembic alone finds a (false) change here"
            assert compare_metadata(ours, metadata) == []
    finally:
        engine.dispose()


def test_the_types_module_is_imported_even_inside_an_array() -> None:
    from alembic.operations import ops
    from sqlalchemy.dialects import postgresql

    from asyncmigrate.autogenerate.type_imports import _add_imports

    class Context:
        opts: dict[str, Any] = {"user_module_prefix": None}

    money = type("Money", (sa.types.UserDefinedType,), {"__module__": "shop.types", "cache_ok": True})
    table = ops.CreateTableOp("t", [sa.Column("a", postgresql.ARRAY(money()))])
    upgrade = ops.UpgradeOps([table])
    _add_imports(Context(), upgrade)
    assert upgrade.ops[0].modules == ["shop.types"]  # type: ignore[attr-defined]
    assert len(list(upgrade.as_diffs())) == 1  # the table: the imports are no change
    Context.opts = {"user_module_prefix": "types."}
    upgrade = ops.UpgradeOps([table])
    _add_imports(Context(), upgrade)
    assert upgrade.ops == [table]


def test_a_projects_own_env_py_run_by_asyncmigrate_gets_the_plugins(tmp_path: Path) -> None:
    """An ``alembic init`` project, its env.py untouched but for ``target_metadata``: run by
    ``asyncmigrate``, autogenerate imports the types module and keeps a declared rename; run by
    plain ``alembic``, the same env.py writes what Alembic writes (and the file would not run)."""
    from .conftest import run_alembic, stock_alembic_project

    database = tmp_path / "app.db"
    (tmp_path / "shop_types.py").write_text(TYPES_PACKAGE)
    (tmp_path / "app_models.py").write_text(
        "import sqlalchemy as sa\nfrom shop_types import Money\n\nmetadata = sa.MetaData()\n"
        'sa.Table("prices", metadata, sa.Column("id", sa.Integer, primary_key=True),'
        ' sa.Column("amount", Money()))\n'
    )
    stock_alembic_project(tmp_path, database)
    versions = tmp_path / "alembic" / "versions"
    result = run_alembic("revision", "--autogenerate", "-m", "plain", cwd=tmp_path)
    assert result.returncode == 0, result.output
    [plain] = versions.glob("*_plain.py")
    assert "shop_types.Money()" in plain.read_text() and "import shop_types" not in plain.read_text()
    plain.unlink()
    result = run_cli("revision", "--autogenerate", "-m", "ours", cwd=tmp_path)
    assert result.returncode == 0, result.output
    [ours] = versions.glob("*_ours.py")
    assert "import shop_types\n" in ours.read_text()
    cli(tmp_path, "upgrade", "head")
    assert "No changes" in cli(tmp_path, "check")


PLUGINS_IMPORTED = """\
import asyncio, sys
from asyncmigrate import Migrator

async def main() -> None:
    migrator = Migrator.from_config(sys.argv[1])
    await getattr(migrator, sys.argv[2])()
    print("asyncmigrate.autogenerate.defaults" in sys.modules)

asyncio.run(main())
"""


@pytest.mark.parametrize("own_env_py", [True, False], ids=["own-env-py", "ours"])
def test_only_the_runs_that_compare_import_the_plugins(tmp_path: Path, own_env_py: bool) -> None:
    """Upgrade, downgrade and stamp compare nothing, so they skip importing the autogenerate
    plugins (about 50 ms a command); ``check`` gets them, through a project's own env.py too."""
    from .conftest import stock_alembic_project

    database = tmp_path / "app.db"
    (tmp_path / "app_models.py").write_text(
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n"
        'sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True))\n'
    )
    if own_env_py:
        stock_alembic_project(tmp_path, database)
        config = tmp_path / "alembic.ini"
    else:
        init_project(project_dir=tmp_path, models="app_models")
        config = tmp_path / "pyproject.toml"
        url = f'[tool.asyncmigrate]\nurl = "sqlite+aiosqlite:///{database}"\n'
        config.write_text(config.read_text().replace("[tool.asyncmigrate]\n", url, 1))
    cli(tmp_path, "revision", "--autogenerate", "-m", "t")
    (tmp_path / "run.py").write_text(PLUGINS_IMPORTED)
    imported: dict[str, str] = {}
    for call in ("upgrade", "check"):
        result = subprocess.run(
            [sys.executable, "run.py", str(config), call], cwd=tmp_path, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        imported[call] = result.stdout.split()[-1]
    assert imported == {"upgrade": "False", "check": "True"}


def test_check_constraints_of_enums_booleans_and_columns_are_no_change(tmp_path: Path) -> None:
    """Alembic 1.19.0 and 1.19.1 compare CHECK constraints by name by default and read the ones
    an Enum or Boolean makes, and a column's own, as removed (alembic #1859, #1842; three false
    ``remove_constraint`` for this table there); later releases made that comparison opt-in, and
    ``autogenerate_plugins()`` keeps it opt-in on every release we support."""
    metadata = sa.MetaData()
    sa.Table(
        "t",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.Enum("a", "b", name="kind", create_constraint=True)),
        sa.Column("flag", sa.Boolean(create_constraint=True, name="ck_flag")),
        sa.Column("n", sa.Integer, sa.CheckConstraint("n > 0", name="ck_n")),
        sa.CheckConstraint("id > 0", name="ck_id"),
    )
    assert "~alembic.autogenerate.checkconstraint_byname" in autogenerate_plugins()
    # A project that names the comparison keeps it.
    assert not any(
        name.startswith("~") for name in autogenerate_plugins(["alembic.ext.checkconstraint_byname"])
    )
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'checks.db'}")
    try:
        with engine.begin() as connection:
            metadata.create_all(connection)
            opts = {"target_metadata": metadata, "autogenerate_plugins": autogenerate_plugins()}
            assert compare_metadata(MigrationContext.configure(connection, opts=opts), metadata) == []
    finally:
        engine.dispose()


async def test_a_serial_spelled_out_in_the_model_is_no_change(tmp_path: Path) -> None:
    """A model that spells out its SERIAL's default (as sqlacodegen writes it), on a table outside
    the search path: Alembic drops the database's default while reading it and then reports the
    model's as added (alembic #1479's family); ours reads both sides the same plain way."""
    url = await fresh_database("postgresql", tmp_path)
    engine = sa.create_engine(url.replace("+asyncpg", "+psycopg"))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE SCHEMA ledger; CREATE TABLE ledger.account (id SERIAL PRIMARY KEY, n SERIAL)"
            )
        metadata = sa.MetaData(schema="ledger")
        sa.Table(
            "account",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column(
                "n",
                sa.Integer,
                server_default=text("nextval('ledger.account_n_seq'::regclass)"),
                nullable=False,
            ),
        )
        with engine.connect() as connection:
            options = {
                "target_metadata": metadata,
                "include_schemas": True,
                "include_name": lambda name, kind, parents: kind != "schema" or name == "ledger",
                "compare_server_default": True,
            }
            plain = MigrationContext.configure(connection, opts=options)
            assert [diff[0][0] for diff in compare_metadata(plain, metadata)] == ["modify_default"]
            ours = MigrationContext.configure(
                connection, opts={**options, "autogenerate_plugins": autogenerate_plugins()}
            )
            assert compare_metadata(ours, metadata) == []
    finally:
        engine.dispose()
        await drop_database("postgresql", url)


async def test_a_mirror_the_database_refuses_is_retried_table_by_table(tmp_path: Path) -> None:
    """A new column whose enum type the database does not have yet cannot be mirrored: its
    table is compared by Alembic's rules, every other table still by the database's spelling."""
    url = await fresh_database("postgresql", tmp_path)
    engine = sa.create_engine(url.replace("+asyncpg", "+psycopg"))
    try:
        before = sa.MetaData()
        for name in ("a", "b"):
            sa.Table(
                name,
                before,
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("price", sa.Numeric(10, 2), server_default="0"),
            )
        with engine.begin() as connection:
            before.create_all(connection)
        after = sa.MetaData()
        sa.Table(
            "a",
            after,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("price", sa.Numeric(10, 2), server_default="0"),
            sa.Column("state", sa.Enum("x", "y", name="state"), server_default="x"),
        )
        sa.Table(
            "b",
            after,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("price", sa.Numeric(10, 2), server_default="1"),
        )
        with engine.connect() as connection:
            opts = {
                "target_metadata": after,
                "autogenerate_plugins": autogenerate_plugins(),
                "compare_server_default": True,
            }
            diffs = compare_metadata(MigrationContext.configure(connection, opts=opts), after)
        flat = [diff[0] if isinstance(diff, list) else diff for diff in diffs]
        assert sorted(
            (entry[0], entry[2], entry[3].name if entry[0] == "add_column" else entry[3]) for entry in flat
        ) == [
            ("add_column", "a", "state"),
            ("add_enum", "state", ("x", "y")),  # autogenerate/enums.py
            ("modify_default", "b", "price"),
        ], diffs
    finally:
        engine.dispose()
        await drop_database("postgresql", url)


def _compare_with_and_without(connection: Any, metadata: sa.MetaData) -> tuple[list[Any], list[Any]]:
    """Alembic's comparison of ``metadata`` with the database, alone and with our plugins."""
    options = {"target_metadata": metadata, "compare_server_default": True}
    plain = compare_metadata(MigrationContext.configure(connection, opts=options), metadata)
    ours = compare_metadata(
        MigrationContext.configure(
            connection, opts={**options, "autogenerate_plugins": autogenerate_plugins()}
        ),
        metadata,
    )
    return plain, ours


def test_sqlite_spellings_of_one_value_are_no_change(tmp_path: Path) -> None:
    """Cases from the real-project corpus on SQLite, which keeps a default as written: a
    BOOLEAN made with DEFAULT 0 and modelled as '0' (mlflow), an empty-string default
    (buildbot: Alembic's own rule misreads it), an Identity() SQLite cannot have (mlflow)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'values.db'}")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY, b BOOLEAN DEFAULT 0 NOT NULL,"
                " s VARCHAR(20) DEFAULT '' NOT NULL, n INTEGER NOT NULL)"
            )
        metadata = sa.MetaData()
        sa.Table(
            "t",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("b", sa.Boolean, nullable=False, server_default="0"),
            sa.Column("s", sa.String(20), nullable=False, server_default=""),
            sa.Column("n", sa.Integer, sa.Identity(), nullable=False),
        )
        with engine.connect() as connection:
            plain, ours = _compare_with_and_without(connection, metadata)
        assert len(plain) == 2, plain  # the '' default and the Identity
        assert ours == []
        # A value that differs still does.
        metadata.tables["t"].c.b.server_default = sa.DefaultClause("1")
        with engine.connect() as connection:
            assert len(_compare_with_and_without(connection, metadata)[1]) == 1
    finally:
        engine.dispose()


async def test_what_a_primary_key_implies_is_no_change(tmp_path: Path) -> None:
    """PostgreSQL: a key column the model declares nullable=True is NOT NULL (cinder), and a
    UNIQUE on exactly the key's columns is not kept beside the key (nbgrader, alembic #793)."""
    url = await fresh_database("postgresql", tmp_path)
    engine = sa.create_engine(url.replace("+asyncpg", "+psycopg"))
    try:
        metadata = sa.MetaData()
        sa.Table("course", metadata, sa.Column("id", sa.String(128), unique=True, primary_key=True))
        sa.Table(
            "encryption",
            metadata,
            sa.Column("id", sa.String(36), primary_key=True, nullable=True),
            sa.Column("note", sa.String(20), unique=True),
        )
        with engine.begin() as connection:
            metadata.create_all(connection)
        with engine.connect() as connection:
            plain, ours = _compare_with_and_without(connection, metadata)
        assert len(plain) == 2, plain
        assert ours == []
    finally:
        engine.dispose()
        await drop_database("postgresql", url)


def test_an_index_sqlite_reads_only_in_part_is_no_change(tmp_path: Path) -> None:
    """SQLite's reflection drops an index's DESC and expressions (mlflow's
    idx_mcp_server_versions_latest): the index the model declares is the statement SQLite keeps."""
    metadata = sa.MetaData()
    table = sa.Table(
        "versions",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(20)),
        sa.Column("major", sa.Integer),
    )
    sa.Index("ix_latest", table.c.name, text("major DESC"))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'indexes.db'}")
    try:
        with engine.begin() as connection:
            metadata.create_all(connection)
        with engine.connect() as connection:
            plain, ours = _compare_with_and_without(connection, metadata)
        assert [diff[0] for diff in plain] == ["remove_index", "add_index"], plain
        assert ours == []
        # Another column in the model's index is a change still.
        metadata.tables["versions"].indexes.clear()
        sa.Index("ix_latest", table.c.name, text("major ASC"))
        with engine.connect() as connection:
            assert [diff[0] for diff in _compare_with_and_without(connection, metadata)[1]] == [
                "remove_index",
                "add_index",
            ]
    finally:
        engine.dispose()
