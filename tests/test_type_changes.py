"""Column type changes PostgreSQL does not convert by itself, through autogenerate as a user runs
it: a string column becomes an enum, an integer, a UUID, JSONB, a date, and an integer a
boolean. Alembic writes the ALTER alone and the upgrade stops ("cannot be cast automatically");
ours adds ``postgresql_using`` where the database asks for it, in both directions, and the rows
come through up and down. Changes the database makes by itself get no ``USING``; a value the new
type cannot hold stops the upgrade, which rolls back."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import fresh_database, run_cli
from .test_renames import autogenerate, cli, downgrade_part, make_project, query, upgrade_part

BEFORE = """\
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    status = mapped_column(sa.String(20))
    qty = mapped_column(sa.String(20))
    ref = mapped_column(sa.String(36))
    doc = mapped_column(sa.Text)
    due = mapped_column(sa.String(10))
    paid = mapped_column(sa.Integer)
    small = mapped_column(sa.Integer)
    note = mapped_column(sa.String(20))
    flags = mapped_column(postgresql.ARRAY(sa.String(20)))
    codes = mapped_column(postgresql.ARRAY(sa.Text))
"""

AFTER = (
    BEFORE.replace(
        "status = mapped_column(sa.String(20))",
        'status = mapped_column(sa.Enum("new", "paid", name="status"))',
    )
    .replace("qty = mapped_column(sa.String(20))", "qty = mapped_column(sa.Integer)")
    .replace("ref = mapped_column(sa.String(36))", "ref = mapped_column(sa.Uuid)")
    .replace("doc = mapped_column(sa.Text)", "doc = mapped_column(postgresql.JSONB)")
    .replace("due = mapped_column(sa.String(10))", "due = mapped_column(sa.Date)")
    .replace("paid = mapped_column(sa.Integer)", "paid = mapped_column(sa.Boolean)")
    # converted by the database itself: no USING
    .replace("small = mapped_column(sa.Integer)", "small = mapped_column(sa.BigInteger)")
    # (a spelling the catalog's type parser refuses: asked in a savepoint, and no USING)
    .replace("note = mapped_column(sa.String(20))", 'note = mapped_column(sa.String(50, collation="C"))')
    # an array as its elements: to an enum through text[]; text[] to varchar(5)[] by itself (no
    # explicit cast, which would cut longer values short instead of failing on them)
    .replace("postgresql.ARRAY(sa.String(20))", 'postgresql.ARRAY(sa.Enum("new", "paid", name="status"))')
    .replace("postgresql.ARRAY(sa.Text)", "postgresql.ARRAY(sa.String(5))")
)

ROW = (
    "INSERT INTO orders (id, status, qty, ref, doc, due, paid, small, note, flags, codes) VALUES"
    " (1, 'paid', '3', '6f1c1b7e-4a53-4c1e-9d7e-2b8e5f0c9a11', '{\"a\": 1}', '2026-12-03', 1, 7, 'n',"
    " '{paid,new}', '{ab}')"
)
SELECT = (
    "SELECT status::text, qty::text, ref::text, doc::text, due::text, paid::text, small, note,"
    " flags::text, codes::text FROM orders"
)


def usings(code: str) -> dict[str, str]:
    """Column -> the ``postgresql_using`` of its ``alter_column``, for those that have one."""
    found = {}
    for call in code.split("op.alter_column(")[1:]:
        column = re.match(r"'orders', '(\w+)'", call)
        using = re.search(r"postgresql_using='([^']+)'", call)
        if column and using:
            found[column.group(1)] = using.group(1)
    return found


async def upgraded_project(tmp_path: Path, row: str) -> tuple[Path, str]:
    """A project of BEFORE on a new PostgreSQL database, upgraded, with ``row`` inserted."""
    url = await fresh_database("postgresql", tmp_path)
    root = tmp_path / "project"
    make_project(root, url, BEFORE)
    autogenerate(root, "first")
    cli(root, "upgrade", "head")
    await query(url, row)
    return root, url


async def test_type_changes_get_the_using_they_need(tmp_path: Path) -> None:
    root, url = await upgraded_project(tmp_path, ROW)
    before = await query(url, SELECT)

    (root / "app_models.py").write_text(AFTER)
    source = autogenerate(root, "types")
    up, down = upgrade_part(source), downgrade_part(source)
    using = usings(up)
    assert using == {
        "status": "status::text::status",
        "qty": "qty::INTEGER",
        "ref": "ref::UUID",
        "doc": "doc::JSONB",
        "due": "due::DATE",
        "paid": "paid::BOOLEAN",
        "flags": "flags::text[]::status[]",
    }, up
    # back to strings the database converts by itself; a boolean to an integer it does not
    back = usings(down)
    assert back == {"paid": "paid::INTEGER"}, down

    cli(root, "upgrade", "head")
    assert await query(url, SELECT) == [
        ("paid", "3", "6f1c1b7e-4a53-4c1e-9d7e-2b8e5f0c9a11", '{"a": 1}', "2026-12-03", "true", 7, "n")
        + ("{paid,new}", "{ab}")
    ]
    assert "No changes" in cli(root, "check")
    cli(root, "downgrade", "-1")
    assert await query(url, SELECT) == before
    assert "No changes" not in run_cli("check", cwd=root).output
    cli(root, "upgrade", "head")
    cli(root, "test", "stairway")


async def test_a_value_the_new_type_cannot_hold_stops_the_upgrade(tmp_path: Path) -> None:
    root, url = await upgraded_project(tmp_path, ROW.replace("'3'", "'three'"))
    (root / "app_models.py").write_text(AFTER)
    autogenerate(root, "types")
    result = run_cli("upgrade", "head", cwd=root)
    assert result.returncode != 0
    assert 'invalid input syntax for type integer: "three"' in result.output, result.output
    assert "rolled back" in result.output
    assert await query(url, "SELECT qty FROM orders") == [("three",)]
