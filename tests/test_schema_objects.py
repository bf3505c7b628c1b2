"""Views, materialized views, functions, triggers and policies declared beside the models
(``declare(metadata, ...)``) round-trip through autogenerate, upgrade and downgrade on
PostgreSQL: created, changed (a view whose columns change, with a view and a materialized view
depending on it), dropped; unchanged, ``check`` reports nothing and autogenerate writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import drop_database, fresh_database, run_cli
from .test_renames import autogenerate, cli, downgrade_part, make_project, query, upgrade_part

TABLES = """\
from sqlalchemy import DateTime, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from asyncmigrate.autogenerate import Function, Policy, Trigger, View, declare


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool]
    touched: Mapped[str | None] = mapped_column(String(20))


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))

"""

TOUCHED = "    touched: Mapped[str | None] = mapped_column(String(20))\n"

FIRST = (
    TABLES.replace(TOUCHED, TOUCHED + "    nick: Mapped[str | None] = mapped_column(String(20))\n")
    + '''
declare(
    Base.metadata,
    Function("touch()", """RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.touched := 'one';
    RETURN NEW;
END $$"""),
    Function("add_one(x integer DEFAULT 1)", "RETURNS integer LANGUAGE sql AS 'SELECT x + 1'"),
    View("active_users", "SELECT id, name, nick FROM users WHERE active"),
    View("user_names", "SELECT name FROM active_users"),
    View("user_count", "SELECT count(*) AS n FROM active_users", materialized=True),
    View("legacy", "SELECT id FROM users"),
    Trigger("users_touch", on="users",
            definition="BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()"),
    Policy("own_notes", on="notes", definition="FOR SELECT USING (owner = current_user)"),
)
'''
)

#: The functions' body and result type (CREATE OR REPLACE refuses the latter: dropped and
#: created again), the view's columns (active_users gains one: no CREATE OR REPLACE, its two
#: dependants are dropped and created again), the trigger's events and the policy change;
#: legacy is declared dropped.
SECOND = (
    TABLES
    + '''
declare(
    Base.metadata,
    Function("touch()", """RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.touched := 'two';
    RETURN NEW;
END $$"""),
    Function("add_one(x integer DEFAULT 1)", "RETURNS bigint LANGUAGE sql AS 'SELECT x + 1'"),
    View("active_users", "SELECT id, name, touched FROM users WHERE active"),
    View("user_names", "SELECT name FROM active_users"),
    View("user_count", "SELECT count(*) AS n FROM active_users", materialized=True),
    View("legacy", None),
    View("manual_count", "SELECT count(*) AS n FROM manual_names"),
    Trigger("users_touch", on="users",
            definition="BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()"),
    Policy("own_notes", on="notes",
           definition="FOR ALL USING (owner = current_user) WITH CHECK (owner = current_user)"),
)
'''
)

#: Everything declared dropped, and users.touched, which active_users reads: the view goes first.
THIRD = (
    TABLES.replace(TOUCHED, "")
    + """
declare(
    Base.metadata,
    Policy("own_notes", on="notes", definition=None),
    Trigger("users_touch", on="users", definition=None),
    View("user_count", None, materialized=True),
    View("user_names", None),
    View("active_users", None),
    Function("touch()", None),
    Function("add_one(x integer)", None),
)
"""
)


#: The view no model declares, declared dropped.
MANUAL_DROPPED = (
    'declare(\n    Base.metadata,\n    View("manual_names", None),\n    View("manual_count", None),'
)


@pytest.fixture
async def project(tmp_path: Path) -> Any:
    url = await fresh_database("postgresql", tmp_path)
    root = tmp_path / "project"
    make_project(root, url, FIRST)
    try:
        yield root, url
    finally:
        await drop_database("postgresql", url)


async def catalog(url: str) -> dict[str, Any]:
    """What the database holds of the objects, and how the trigger behaves."""
    views: list[tuple[Any, ...]] = await query(
        url,
        "SELECT c.relname, c.relkind::text, string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_class c"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
        " WHERE c.relkind IN ('v', 'm') AND c.relnamespace = 'public'::regnamespace"
        " GROUP BY c.relname, c.relkind ORDER BY 1",
    )
    functions = await query(
        url,
        "SELECT proname || ' ' || pg_get_function_result(oid) FROM pg_proc"
        " WHERE pronamespace = 'public'::regnamespace",
    )
    triggers = await query(url, "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")
    policies = await query(url, "SELECT policyname, cmd FROM pg_policies")
    indexes = await query(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'user_count'")
    touched = None
    if triggers:
        await query(url, "DELETE FROM users")
        await query(url, "INSERT INTO users VALUES (1, 'a', true, NULL)")
        await query(url, "UPDATE users SET name = 'b'")
        [(touched,)] = await query(url, "SELECT touched FROM users")
    return {
        "views": {name: (kind, columns) for name, kind, columns in views},
        "functions": sorted(name for (name,) in functions),
        "triggers": [" ".join(definition.split()[:6]) for (definition,) in triggers],
        "policies": policies,
        "touched": touched,
        "indexes": [name for (name,) in indexes],
    }


FIRST_CATALOG = {
    "views": {
        "active_users": ("v", "id,name,nick"),
        "legacy": ("v", "id"),
        "user_count": ("m", "n"),
        "user_names": ("v", "name"),
    },
    "functions": ["add_one integer", "touch trigger"],
    "triggers": ["CREATE TRIGGER users_touch BEFORE UPDATE ON"],
    "policies": [("own_notes", "SELECT")],
    "touched": "one",
    "indexes": [],
}

SECOND_CATALOG = {
    "views": {
        "active_users": ("v", "id,name,touched"),
        "user_count": ("m", "n"),
        "user_names": ("v", "name"),
    },
    "functions": ["add_one bigint", "touch trigger"],
    "triggers": ["CREATE TRIGGER users_touch BEFORE INSERT OR"],
    "policies": [("own_notes", "ALL")],
    "touched": "two",
    "indexes": [],
}

EMPTY_CATALOG = {
    "views": {},
    "functions": [],
    "triggers": [],
    "policies": [],
    "touched": None,
    "indexes": [],
}


def unchanged(root: Path, message: str) -> None:
    """``check`` finds nothing, and autogenerate writes an empty revision (removed again)."""
    output = cli(root, "check")
    assert "No changes" in output, output
    again = autogenerate(root, message)
    assert "op." not in again, again
    for path in (root / "migrations" / "versions").glob(f"*_{message}.py"):
        path.unlink()


async def test_declared_objects_round_trip(project: tuple[Path, str]) -> None:
    root, url = project
    first = autogenerate(root, "first")
    up = upgrade_part(first)
    assert up.index("create_table('users'") < up.index("CREATE OR REPLACE FUNCTION")
    assert up.index("FUNCTION") < up.index("VIEW public.active_users") < up.index("VIEW public.user_names")
    assert up.index("TRIGGER users_touch") > up.index("FUNCTION")
    cli(root, "upgrade", "head")
    assert await catalog(url) == FIRST_CATALOG
    unchanged(root, "again1")
    # A view nobody declares, reading a declared one: left alone, but dropped and created again
    # around the change of the view it reads (alembic-utils' #9 and #149).
    cli(root, "revision", "-m", "manual")
    [manual] = (root / "migrations" / "versions").glob("*_manual.py")
    source = manual.read_text()
    source = source.replace(
        "    pass",
        '    op.execute("CREATE VIEW manual_names AS SELECT name FROM user_names")\n'
        '    op.execute("CREATE UNIQUE INDEX user_count_n ON user_count (n)")',
        1,
    )
    down = '    op.execute("DROP INDEX user_count_n")\n    op.execute("DROP VIEW manual_names")'
    manual.write_text(source.replace("    pass", down, 1))
    cli(root, "upgrade", "head")
    FIRST_CATALOG["views"]["manual_names"] = SECOND_CATALOG["views"]["manual_names"] = ("v", "name")
    SECOND_CATALOG["views"]["manual_count"] = ("v", "n")
    FIRST_CATALOG["indexes"] = SECOND_CATALOG["indexes"] = ["user_count_n"]

    (root / "app_models.py").write_text(SECOND)
    second = autogenerate(root, "second")
    up, down = upgrade_part(second), downgrade_part(second)
    # dependants dropped before the view they read, created again after it
    assert up.index("DROP MATERIALIZED VIEW public.user_count") < up.index("DROP VIEW public.active_users")
    assert up.index("DROP VIEW public.user_names") < up.index("DROP VIEW public.active_users")
    assert up.index("DROP VIEW public.legacy") < up.index("CREATE OR REPLACE FUNCTION")
    # users.nick, which active_users read, is dropped between the view's drop and its creation
    assert up.index("DROP VIEW public.active_users") < up.index("drop_column('users', 'nick')")
    assert up.index("drop_column('users', 'nick')") < up.index("VIEW public.active_users AS")
    assert up.index("VIEW public.active_users AS") < up.index("VIEW public.user_names AS")
    assert "legacy" in down and "DROP VIEW public.legacy" not in down
    assert up.index("DROP VIEW public.manual_names") < up.index("DROP VIEW public.user_names")
    # a function whose result type changes is dropped (before the tables change) and created again
    dropped, created = "DROP FUNCTION public.add_one(x integer)", "CREATE OR REPLACE FUNCTION public.add_one("
    assert up.index(dropped) < up.index("drop_column('users', 'nick')") < up.index(created)
    assert up.count("DROP FUNCTION") == 1 and down.count("DROP FUNCTION public.add_one") == 1, down
    assert up.index("VIEW public.user_names AS") < up.index("VIEW public.manual_names AS")
    # lint: the locks on existing tables are flagged, the views created again are not
    lint = run_cli("lint", "--dialect", "postgresql", cwd=root).output
    second_findings = lint.split("_second.py")[1].split("_third.py")[0] if "_third.py" in lint else lint
    assert "row-security-lock" in second_findings and "trigger-creation-lock" in second_findings, lint
    assert "dropping a view" in second_findings and second_findings.count("drop-other-object") == 1, lint
    cli(root, "upgrade", "head")
    assert await catalog(url) == SECOND_CATALOG
    [(count,)] = await query(url, "SELECT n FROM user_count")
    assert count == 1  # created again with its data
    unchanged(root, "again2")

    cli(root, "downgrade", "-1")
    assert await catalog(url) == FIRST_CATALOG
    cli(root, "upgrade", "head")

    broken = SECOND.replace(
        "declare(\n    Base.metadata,",
        'declare(\n    Base.metadata,\n    View("broken", "SELECT nope FROM users"),',
    )
    (root / "app_models.py").write_text(broken)
    refused = run_cli("revision", "--autogenerate", "-m", "broken", cwd=root)
    assert refused.returncode == 1 and "declared view public.broken does not create" in refused.output, (
        refused.output
    )
    assert 'column "nope" does not exist' in refused.output, refused.output

    (root / "app_models.py").write_text(THIRD)
    refused = run_cli("revision", "--autogenerate", "-m", "third", cwd=root)
    assert (
        refused.returncode == 1
        and "public.manual_names, public.manual_count (not declared) read" in refused.output
    )
    (root / "app_models.py").write_text(THIRD.replace("declare(\n    Base.metadata,", MANUAL_DROPPED))
    third = upgrade_part(autogenerate(root, "third"))
    assert third.index("DROP VIEW public.active_users") < third.index("drop_column('users', 'touched')")
    cli(root, "upgrade", "head")
    assert await catalog(url) == EMPTY_CATALOG
    assert "No changes" in cli(root, "check")
    cli(root, "downgrade", "-1")
    assert await catalog(url) == SECOND_CATALOG

    result = run_cli("test", "stairway", "--format", "json", cwd=root)
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == [] and report["walked"] == 4, report


def test_rendered_sql_keeps_its_colons_and_lines() -> None:
    """What ``text()`` would take for a bound parameter is escaped; a body's lines stay as they
    are (one literal on one line: Alembic indents every line it renders)."""
    from types import SimpleNamespace

    import sqlalchemy as sa

    from asyncmigrate.autogenerate.objects import ObjectStep, _render_step

    sql = "CREATE VIEW v AS SELECT x::int, ' :name' AS a\n  FROM t"
    context = SimpleNamespace(opts={})
    _comment, line = _render_step(context, ObjectStep("create", "view public.v", sql, "DROP VIEW v"))
    assert "\n" not in line
    literal = line.removeprefix("op.execute(").removesuffix(")")
    compiled = str(sa.text(eval(literal)).compile())  # noqa: S307  (our own literal)
    assert compiled == sql


def test_views_are_created_after_the_views_they_name() -> None:
    from asyncmigrate.autogenerate.objects import _view_order

    order = _view_order({"s.c": "SELECT * FROM b", "s.b": "SELECT * FROM a_x, a", "s.a": "SELECT 1"})
    assert order == ["s.a", "s.b", "s.c"]


def test_declarations_are_checked_and_ignored_off_postgresql(caplog: pytest.LogCaptureFixture) -> None:
    import sqlalchemy as sa
    from alembic.autogenerate import produce_migrations
    from alembic.runtime.migration import MigrationContext

    from asyncmigrate.autogenerate import Function, View, autogenerate_plugins, declare
    from asyncmigrate.errors import ConfigError

    metadata = sa.MetaData()
    with pytest.raises(ConfigError, match="not a View"):
        declare(metadata, "CREATE VIEW v AS SELECT 1")  # type: ignore[arg-type]
    declare(metadata, View("v", "SELECT 1"), Function("f()", "RETURNS int LANGUAGE sql AS 'select 1'"))
    engine = sa.create_engine("sqlite://")
    with engine.connect() as connection:
        opts = {"target_metadata": metadata, "autogenerate_plugins": autogenerate_plugins()}
        script = produce_migrations(MigrationContext.configure(connection, opts=opts), metadata)
    assert script.upgrade_ops is not None and script.upgrade_ops.ops == []
    assert "PostgreSQL only" in caplog.text
