"""PostgreSQL enum types through autogenerate, as a user runs it: created and dropped with the
tables and columns that use them, values added (``ADD VALUE``), renamed (declared) and removed
(the type recreated), in plain and ARRAY columns with defaults, in a non-public schema; each
revision goes up and down with its rows, the stairway walks them, and an unchanged database
makes ``check`` and a second autogenerate quiet. One database for the whole module."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

from asyncmigrate.autogenerate.enums import RecreateEnum, Usage, _changes, _model_enums, _ModelEnum
from asyncmigrate.errors import ConfigError

from .conftest import (
    PG_ADMIN_URL,
    SYNC_ENV_PY,
    _create_database,
    _drop_database,
    revision_source,
    run_alembic,
    run_cli,
)
from .test_renames import autogenerate, autogenerate_with_output, cli, downgrade_part, make_project, query
from .test_renames import upgrade_part as upgrade_of

MODELS = """\
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


MOOD = sa.Enum({mood}, name="mood")


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    mood = mapped_column(MOOD, server_default="happy")
    moods = mapped_column(postgresql.ARRAY(MOOD))
{kind}

class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(primary_key=True)
    color = mapped_column(postgresql.ENUM("red", "green", name="color"))
    mood = mapped_column(MOOD)
"""

KIND = '    kind = mapped_column(sa.Enum({values}, name="kind", schema="zoo"){info})\n'


def models(mood: str, kind: str | None = '"cat", "dog"', info: str = "", things: bool = True) -> str:
    column = "" if kind is None else KIND.format(values=kind, info=info)
    source = MODELS.format(mood=mood, kind=column)
    return source if things else source.split("\nclass Thing(Base):")[0]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    if not PG_ADMIN_URL:
        pytest.skip("PostgreSQL is not configured: run the tests with scripts/test")
    url = asyncio.run(_create_database(PG_ADMIN_URL))
    yield url
    asyncio.run(_drop_database(PG_ADMIN_URL, url))


def rows(url: str, statement: str) -> list[tuple[object, ...]]:
    return asyncio.run(query(url, statement))


def quiet(root: Path) -> None:
    """The models and the database agree: ``check`` says so and autogenerate writes nothing."""
    assert "No changes" in cli(root, "check")
    again = autogenerate(root, "nothing")
    assert "op." not in again, again
    for path in (root / "migrations" / "versions").glob("*_nothing.py"):
        path.unlink()


def findings(root: Path) -> dict[str, set[str]]:
    """``asyncmigrate lint``: each revision's rules found."""
    report = json.loads(run_cli("lint", "--format", "json", cwd=root).stdout)
    found: dict[str, set[str]] = {revision: set() for revision in report["revisions"]}
    for finding in report["findings"]:
        found[finding["revision"]].add(finding["rule"])
    return found


def revision_of(source: str) -> str:
    match = re.search(r"^revision: str = '(\w+)'", source, re.M)
    assert match, source
    return match.group(1)


def test_enum_changes_round_trip_with_their_rows(tmp_path: Path, database: str) -> None:
    url = database
    root = tmp_path / "project"
    make_project(root, url, models('"happy", "sad"'))
    (root / "migrations" / "versions" / "0000schema.py").write_text(
        revision_source(
            "0000schema", None, 'op.execute("CREATE SCHEMA zoo")', 'op.execute("DROP SCHEMA zoo")'
        )
    )
    cli(root, "upgrade", "head")

    # 1. New types, created before the tables (which do not create them) and dropped after them.
    source = autogenerate(root, "first")
    up, down = upgrade_of(source), downgrade_part(source)
    assert """op.execute("CREATE TYPE mood AS ENUM ('happy', 'sad')")""" in up
    assert """op.execute("CREATE TYPE zoo.kind AS ENUM ('cat', 'dog')")""" in up
    assert """op.execute("CREATE TYPE color AS ENUM ('red', 'green')")""" in up
    assert "postgresql.ARRAY(postgresql.ENUM('happy', 'sad', name='mood', create_type=False))" in up
    assert "postgresql.ENUM('cat', 'dog', name='kind', schema='zoo', create_type=False)" in up
    assert up.index("CREATE TYPE mood") < up.index("create_table")
    assert down.index("DROP TYPE mood") > down.index("drop_table('people')")
    cli(root, "upgrade", "head")
    rows(url, "INSERT INTO people (id, mood, moods, kind) VALUES (1, 'sad', '{happy,sad}', 'dog')")
    rows(url, "INSERT INTO things (id, color, mood) VALUES (1, 'green', 'happy')")
    quiet(root)

    # 2. Values added: ADD VALUE in an autocommit block, one before an old value, one at the end;
    # and a value renamed, declared: RENAME VALUE keeps the rows, both ways.
    info = ', info={"renamed_values": {"dog": "hound"}}'
    (root / "app_models.py").write_text(models('"happy", "calm", "sad", "angry"', '"cat", "hound"', info))
    source = autogenerate(root, "added")
    up = upgrade_of(source)
    assert "with op.get_context().autocommit_block():" in up
    assert """op.execute("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'calm' BEFORE 'sad'")""" in up
    assert """op.execute("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'angry'")""" in up
    assert """op.execute("ALTER TYPE zoo.kind RENAME VALUE 'dog' TO 'hound'")""" in up
    assert """op.execute("ALTER TYPE zoo.kind RENAME VALUE 'hound' TO 'dog'")""" in downgrade_part(source)
    assert "DROP" not in up and "mood_old" not in up
    added = revision_of(source)
    cli(root, "upgrade", "head")
    assert rows(url, "SELECT kind::text FROM people") == [("hound",)]
    rows(url, "INSERT INTO people (id, moods) VALUES (2, '{angry,calm}')")
    assert rows(url, "SELECT mood::text FROM people WHERE id = 2") == [("happy",)]  # the default
    assert "No changes" in cli(root, "check")
    # The downgrade recreates the type without them; a row holding one stops it, by name.
    failed = run_cli("downgrade", "-1", cwd=root)
    assert failed.returncode != 0
    assert 'invalid input value for enum mood: "angry"' in failed.output, failed.output
    rows(url, "DELETE FROM people WHERE id = 2")
    cli(root, "downgrade", "-1")
    assert rows(url, "SELECT enum_range(NULL::mood)::text") == [("{happy,sad}",)]
    assert rows(url, "SELECT id, mood::text, moods::text, kind::text FROM people") == [
        (1, "sad", "{happy,sad}", "dog")
    ]
    cli(root, "upgrade", "head")

    # 3. A value removed: the type recreated, every column (the array, the default) converted.
    (root / "app_models.py").write_text(models('"happy", "sad", "angry"', '"cat", "hound"'))
    source, output = autogenerate_with_output(root, "removed")
    up, down = upgrade_of(source), downgrade_part(source)
    assert "Enum mood: values removed or reordered" in output
    assert "# mood: 'calm' removed: rows holding it make this fail" in up
    assert "op.execute('ALTER TYPE mood RENAME TO mood_old')" in up
    assert "op.execute('ALTER TABLE people ALTER COLUMN moods TYPE mood[] USING moods::text[]::mood[]')" in up
    assert """op.execute("ALTER TABLE people ALTER COLUMN mood SET DEFAULT 'happy'::mood")""" in up
    assert "op.execute('ALTER TABLE things ALTER COLUMN mood TYPE mood USING mood::text::mood')" in up
    assert "op.execute('DROP TYPE mood_old')" in up
    # its inverse puts the value back in its place without a rewrite
    assert """op.execute("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'calm' BEFORE 'sad'")""" in down
    removed = revision_of(source)
    cli(root, "upgrade", "head")
    assert rows(url, "SELECT enum_range(NULL::mood)::text") == [("{happy,sad,angry}",)]
    assert rows(url, "SELECT id, mood::text, moods::text FROM people") == [(1, "sad", "{happy,sad}")]
    rows(url, "INSERT INTO people (id) VALUES (3)")
    assert rows(url, "SELECT mood::text FROM people WHERE id = 3") == [("happy",)]
    assert "No changes" in cli(root, "check")
    cli(root, "downgrade", "-1")
    assert rows(url, "SELECT enum_range(NULL::mood)::text") == [("{happy,calm,sad,angry}",)]
    assert rows(url, "SELECT id, mood::text, moods::text FROM people ORDER BY id") == [
        (1, "sad", "{happy,sad}"),
        (3, "happy", None),
    ]
    cli(root, "upgrade", "head")

    # 4. The last column of a type dropped, alone or with its table: the type goes after it and
    # comes back before it; the table comes back without creating the types it uses (mood stays).
    (root / "app_models.py").write_text(models('"happy", "sad", "angry"', None, things=False))
    source = autogenerate(root, "kind gone")
    up, down = upgrade_of(source), downgrade_part(source)
    assert up.index("drop_column('people', 'kind')") < up.index("op.execute('DROP TYPE zoo.kind')")
    assert up.index("drop_table('things')") < up.index("op.execute('DROP TYPE color')")
    assert "DROP TYPE mood" not in up
    assert down.index("CREATE TYPE zoo.kind AS ENUM ('cat', 'hound')") < down.index("add_column")
    assert down.index("CREATE TYPE color AS ENUM ('red', 'green')") < down.index("create_table('things'")
    assert "postgresql.ENUM('happy', 'sad', 'angry', name='mood', create_type=False)" in down
    cli(root, "upgrade", "head")
    assert rows(url, "SELECT count(*) FROM pg_type WHERE typname IN ('kind', 'color')") == [(0,)]
    assert "No changes" in cli(root, "check")

    # ADD VALUE in its autocommit block is not flagged; the recreated type's rewrites are, its
    # stand-in's rename and drop are not
    linted = findings(root)
    assert (linted[added], linted[removed]) == ({"rename-object"}, {"column-type-change"}), linted
    result = run_cli("test", "stairway", "--format", "json", cwd=root)
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == [] and report["walked"] == 5, report


def test_plain_alembic_with_the_plugins_and_a_schema(tmp_path: Path, database: str) -> None:
    """A project's own env.py with ``autogenerate_plugins()`` and ``include_schemas``: a table of
    another schema (``MetaData(schema=...)``) with enums, one of them in an ARRAY, one made
    elsewhere (``create_type=False``); the generated file runs with plain Alembic and a second
    autogenerate writes nothing."""
    engine = sa.create_engine(sa.make_url(database).set(drivername="postgresql+psycopg"))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA shop")
        connection.exec_driver_sql("CREATE TYPE shop.size AS ENUM ('s')")  # made elsewhere
    engine.dispose()
    sync_url = sa.make_url(database).set(drivername="postgresql+psycopg").render_as_string(False)
    (tmp_path / "shop_models.py").write_text(
        "import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n\n"
        'metadata = sa.MetaData(schema="shop")\n'
        'STATE = sa.Enum("new", "paid", name="state", schema="shop")\n'
        'sa.Table("orders", metadata, sa.Column("id", sa.Integer, primary_key=True),\n'
        '         sa.Column("state", STATE, server_default="new", nullable=False),\n'
        '         sa.Column("history", postgresql.ARRAY(STATE)),\n'
        '         sa.Column("size", postgresql.ENUM("s", "m", name="size", schema="shop",\n'
        "                                           create_type=False)))\n"
    )
    assert run_alembic("init", "-t", "generic", "alembic", cwd=tmp_path).returncode == 0
    ini = tmp_path / "alembic.ini"
    ini.write_text(
        re.sub(r"^sqlalchemy\.url = .*$", f"sqlalchemy.url = {sync_url}", ini.read_text(), flags=re.M)
    )
    (tmp_path / "alembic" / "env.py").write_text(
        "from shop_models import metadata\nfrom asyncmigrate.autogenerate import autogenerate_plugins\n"
        + SYNC_ENV_PY.replace(
            "context.configure(connection=connection)",
            "context.configure(connection=connection, target_metadata=metadata, include_schemas=True,"
            " version_table='shop_version',"
            " include_name=lambda name, kind, parents: kind != 'schema' or name == 'shop',"
            " autogenerate_plugins=autogenerate_plugins())",
        )
    )
    result = run_alembic("revision", "--autogenerate", "-m", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.output
    [path] = (tmp_path / "alembic" / "versions").glob("*_shop.py")
    source = path.read_text()
    assert """op.execute("CREATE TYPE shop.state AS ENUM ('new', 'paid')")""" in source
    # create_type=False: not created (nor dropped) here, its values kept up to date
    assert "CREATE TYPE shop.size" not in upgrade_of(source) and "DROP TYPE shop.size')" not in source
    assert """op.execute("ALTER TYPE shop.size ADD VALUE IF NOT EXISTS 'm'")""" in source
    assert "import asyncmigrate" not in source and "from asyncmigrate" not in source
    assert run_alembic("upgrade", "head", cwd=tmp_path).returncode == 0
    rows(database, "INSERT INTO shop.orders (id, history) VALUES (1, '{new,paid}')")
    result = run_alembic("revision", "--autogenerate", "-m", "again", cwd=tmp_path)
    assert result.returncode == 0, result.output
    [again] = (tmp_path / "alembic" / "versions").glob("*_again.py")
    assert "op." not in again.read_text()
    again.unlink()
    result = run_alembic("downgrade", "base", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert rows(database, "SELECT typname FROM pg_type WHERE typname IN ('state', 'size')") == [("size",)]


def render(*changes: ops.MigrateOperation) -> tuple[str, str]:
    """The upgrade and downgrade code of ``changes``, as autogenerate writes them."""
    context = MigrationContext.configure(dialect_name="postgresql", opts={"target_metadata": sa.MetaData()})
    upgrade = ops.UpgradeOps(list(changes))
    downgrade = upgrade.reverse()
    return render_python_code(upgrade, migration_context=context), render_python_code(
        downgrade, migration_context=context
    )


@pytest.mark.parametrize(
    ("old", "new", "renames", "expected"),
    [
        # inserted anywhere with the old order kept: ADD VALUE, before the next old value
        (("a", "b"), ("x", "a", "y", "b", "z"), {}, ["AddEnumValues"]),
        # an old value moved: recreated
        (("a", "b", "c"), ("b", "a", "c"), {}, ["RecreateEnum"]),
        # a declared rename, then a value added
        (("a", "b"), ("a", "c", "d"), {"b": "c"}, ["RenameEnumValues", "AddEnumValues"]),
        # a declaration already applied, or naming nothing: as without it
        (("a", "c"), ("a", "c"), {"b": "c", "q": "r"}, []),
        # undeclared: a removal
        (("a", "b"), ("a", "c"), {}, ["RecreateEnum"]),
    ],
)
def test_which_change_a_difference_is(
    old: tuple[str, ...], new: tuple[str, ...], renames: dict[str, str], expected: list[str]
) -> None:
    changes = _changes((None, "e"), old, _ModelEnum(new, dict(renames)), [])
    assert [type(change).__name__ for change in changes] == expected


class _Op:
    """Just enough of ``op`` to run rendered code and keep the SQL it executes."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def execute(self, statement: str) -> None:
        self.sent.append(statement)

    def get_context(self) -> _Op:
        return self

    @contextmanager
    def autocommit_block(self) -> Iterator[None]:
        self.sent.append("-- autocommit")
        yield


def executed(code: str) -> list[str]:
    op = _Op()
    exec(f"def body():\n    {code}\nbody()", {"op": op})  # rendered as a function's body
    return op.sent


def test_values_and_names_are_quoted() -> None:
    name = '"Odd Schema"."My Type"'
    column = Usage("Odd Schema", "T", "Col", array=True, default=f"'it''s'::{name}")
    up, down = render(RecreateEnum("Odd Schema", "My Type", ("it's", "b"), ("it's",), [column]))
    assert executed(up) == [
        f'ALTER TYPE {name} RENAME TO "My Type_old"',
        f"CREATE TYPE {name} AS ENUM ('it''s')",
        'ALTER TABLE "Odd Schema"."T" ALTER COLUMN "Col" DROP DEFAULT',
        f'ALTER TABLE "Odd Schema"."T" ALTER COLUMN "Col" TYPE {name}[] USING "Col"::text[]::{name}[]',
        f"""ALTER TABLE "Odd Schema"."T" ALTER COLUMN "Col" SET DEFAULT 'it''s'::{name}""",
        'DROP TYPE "Odd Schema"."My Type_old"',
    ]
    assert executed(down) == ["-- autocommit", f"ALTER TYPE {name} ADD VALUE IF NOT EXISTS 'b'"]


def test_a_wrong_declaration_stops_with_one_line() -> None:
    metadata = sa.MetaData()
    sa.Table("t", metadata, sa.Column("c", sa.Enum("a", name="e"), info={"renamed_values": ["a", "b"]}))
    with pytest.raises(ConfigError, match=r"column t\.c: info\['renamed_values'\] must map each old value"):
        _model_enums(metadata.tables.values(), "public")
