"""The stairway on histories like real projects': one that does not build from an empty database
(its first revision expects the tables ``create_all`` made), run as the project deploys with
``--from-models``; and the three outcomes told apart: a downgrade that does not restore the
schema (flagged), a downgrade that raises (flagged), and a history that does not build (the walk
stops, nothing flagged). Through the CLI, under a stock sync env.py and an async one, and the env.py
written by ``asyncmigrate init``, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from asyncmigrate.scaffold import init_project

from .conftest import SYNC_ENV_PY, drop_database, fresh_database, revision_source, run_alembic, run_cli

MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(99)),
    sa.Column("nickname", sa.String(30)),
    sa.Column("age", sa.Integer),
    sa.Index("ix_accounts_email", "email"),
    sa.Index("ix_accounts_age", "age"),
)
# drift: the models have a column no revision makes (not a downgrade's fault)
notes = sa.Table(
    "notes", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("title", sa.Text)
)
"""

#: A history that starts on the tables create_all made (r1 alters ``accounts``, which no
#: revision creates); revision -> (down, message, upgrade, downgrade).
DEPLOYED = {
    "r1": (None, "nickname", 'op.add_column("accounts", sa.Column("nickname", sa.String(30)))',
           'op.drop_column("accounts", "nickname")'),
    "r2": ("r1", "email index, empty downgrade",
           'op.create_index("ix_accounts_email", "accounts", ["email"])', "pass"),
    "r3": ("r2", "notes", 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))',
           'op.drop_table("notes")'),
    "r4": ("r3", "age, downgrade drops the index but not the column",
           'op.add_column("accounts", sa.Column("age", sa.Integer))\n'
           'op.create_index("ix_accounts_age", "accounts", ["age"])',
           'op.drop_index("ix_accounts_age", table_name="accounts")'),
}  # fmt: skip

RAISES = 'raise RuntimeError("notes cannot be dropped")'

#: A history that builds from empty: b2's downgrade raises, b3's forgets its column.
BUILDS = {
    "b1": (None, "accounts", 'op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True))',
           'op.drop_table("accounts")'),
    "b2": ("b1", "notes, downgrade raises",
           'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))', RAISES),
    "b3": ("b2", "email, empty downgrade", 'op.add_column("accounts", sa.Column("email", sa.String(99)))',
           "pass"),
}  # fmt: skip


def write_history(versions: Path, history: dict[str, tuple]) -> None:
    for path in versions.glob("*.py"):
        path.unlink()
    for revision, (down, message, upgrade, downgrade) in history.items():
        text = revision_source(revision, down, upgrade, downgrade, message=message)
        (versions / f"{revision}.py").write_text(text)


#: The tables the project made with create_all before its first revision.
BASE_MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
accounts = sa.Table(
    "accounts", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.String(99))
)
"""


def make_project(root: Path, kind: str, url: str) -> Path:
    """A project with ``app_models.metadata`` and an env.py of ``kind``: "sync" (the stock one,
    passing target_metadata), "async" (Alembic's async template) or "ours" (asyncmigrate init);
    returns its versions directory."""
    (root / "app_models.py").write_text(MODELS)
    (root / "app_base.py").write_text(BASE_MODELS)
    if kind == "ours":
        init_project(project_dir=root, models="app_models")
        pyproject = root / "pyproject.toml"
        text = pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", f'[tool.asyncmigrate]\nurl = "{url}"\n', 1
        )
        pyproject.write_text(text)
        return root / "migrations" / "versions"
    result = run_alembic("init", "-t", "generic" if kind == "sync" else "async", "alembic", cwd=root)
    assert result.returncode == 0, result.output
    ini = root / "alembic.ini"
    ini.write_text(re.sub(r"^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}", ini.read_text(), flags=re.M))
    env_py = root / "alembic" / "env.py"
    if kind == "sync":
        env_py.write_text(
            "from app_models import metadata\n"
            + SYNC_ENV_PY.replace(
                "context.configure(connection=connection)",
                "context.configure(connection=connection, target_metadata=metadata)",
            )
        )
    else:
        text = env_py.read_text()
        assert "target_metadata = None" in text
        env_py.write_text(
            text.replace("target_metadata = None", "from app_models import metadata as target_metadata")
        )
    return root / "alembic" / "versions"


DRIVERS = {
    ("sync", "sqlite"): "sqlite",
    ("sync", "postgresql"): "postgresql+psycopg",
    ("async", "sqlite"): "sqlite+aiosqlite",
    ("async", "postgresql"): "postgresql+asyncpg",
    ("ours", "sqlite"): "sqlite+aiosqlite",
    ("ours", "postgresql"): "postgresql+asyncpg",
}


@pytest.fixture(params=sorted(DRIVERS), ids=["-".join(key) for key in sorted(DRIVERS)])
async def project(request: pytest.FixtureRequest, tmp_path: Path):
    kind, server = request.param
    if DRIVERS[request.param] == "postgresql+psycopg":
        pytest.importorskip("psycopg")
    database = await fresh_database(server, tmp_path)
    url = make_url(database).set(drivername=DRIVERS[request.param]).render_as_string(hide_password=False)
    root = tmp_path / "project"
    root.mkdir()
    try:
        yield root, make_project(root, kind, url)
    finally:
        await drop_database(server, database)


def stairway_json(root: Path, *args: str) -> tuple[int, dict]:
    result = run_cli("test", "stairway", "--format", "json", *args, cwd=root)
    assert "Traceback" not in result.output, result.output
    return result.returncode, json.loads(result.stdout)


def test_a_history_that_needs_create_all(project: tuple[Path, Path]) -> None:
    root, versions = project
    write_history(versions, DEPLOYED)

    # From empty, r1 cannot run: the walk stops there and flags nothing.
    code, report = stairway_json(root)
    assert code == 2, report
    assert report["failed"] == [] and report["walked"] == 0 and report["total"] == 4
    assert report["does_not_build"] == "r1"
    assert report["stopped"].startswith("the history does not build from an empty database at revision r1: ")
    assert "accounts" in report["stopped"]  # the database's own error: no table accounts
    assert [r["status"] for r in report["revisions"]] == ["does-not-build"]

    # As the project deploys: create_all, stamp head, then each revision down and up again.
    code, report = stairway_json(root, "--from-models")
    assert code == 1, report
    assert report["mode"] == "models" and report["stopped"] is None
    assert report["walked"] == 4
    by_revision = {r["revision"]: r for r in report["revisions"]}
    assert list(by_revision) == ["r4", "r3", "r2", "r1"]
    assert report["not_restored"] == ["r4", "r2"] and report["downgrade_raised"] == []
    assert by_revision["r1"]["status"] == "ok"
    assert by_revision["r3"]["status"] == "warning"
    assert by_revision["r3"]["problems"] == [
        "the models differ from what its upgrade builds (not its downgrade's doing)"
    ]
    assert any("notes.title" in line for line in by_revision["r3"]["diff"])
    # the column the downgrade left is what the upgrade trips on
    [r4_problem] = by_revision["r4"]["problems"]
    assert r4_problem.startswith("downgrade does not restore the schema: upgrade after downgrade raised")
    assert "age" in r4_problem
    assert by_revision["r2"]["problems"][0].startswith("downgrade is empty (pass)")

    text = run_cli("test", "stairway", "--from-models", cwd=root)
    assert text.returncode == 1, text.output
    assert "4 of 4 revisions walked, 2 flagged" in text.stdout

    # A downgrade that raises stops the walk there, with a line saying so.
    history = dict(DEPLOYED)
    history["r3"] = (*DEPLOYED["r3"][:3], RAISES)
    write_history(versions, history)
    code, report = stairway_json(root, "--from-models")
    assert code == 1, report
    assert [r["revision"] for r in report["revisions"]] == ["r4", "r3"]
    assert report["downgrade_raised"] == ["r3"] and report["not_restored"] == ["r4"]
    assert report["revisions"][1]["problems"] == ["downgrade raised RuntimeError: notes cannot be dropped"]
    assert (
        report["stopped"]
        == "stopped at r3: its downgrade raises, so the 2 revisions below it were not walked"
    )

    # --base-models: the initial tables first, then the whole history bottom up (as mlflow).
    write_history(versions, DEPLOYED)
    code, report = stairway_json(root, "--base-models", "app_base:metadata")
    assert code == 1, report
    assert report["mode"] == "base-models" and report["stopped"] is None and report["walked"] == 4
    assert report["not_restored"] == ["r2", "r4"]
    assert [r["status"] for r in report["revisions"]] == ["ok", "failed", "ok", "failed"]

    # --minimum-downgrade-revision, as pytest-alembic's option: r2 and below are not stepped down.
    write_history(versions, DEPLOYED)
    code, report = stairway_json(root, "--from-models", "--minimum-downgrade-revision", "r2")
    assert code == 1, report
    assert [r["revision"] for r in report["revisions"]] == ["r4", "r3"]
    assert report["failed"] == ["r4"]


def test_from_empty_tells_a_raising_downgrade_from_one_that_does_not_restore(
    project: tuple[Path, Path],
) -> None:
    root, versions = project
    write_history(versions, BUILDS)
    code, report = stairway_json(root)
    assert code == 1, report
    assert report["stopped"] is None and report["does_not_build"] is None
    assert report["walked"] == 3
    assert report["downgrade_raised"] == ["b2"] and report["not_restored"] == ["b3"]
    kinds = {r["revision"]: (r["status"], r["kind"]) for r in report["revisions"]}
    assert kinds == {
        "b1": ("ok", None),
        "b2": ("failed", "downgrade-raised"),
        "b3": ("failed", "not-restored"),
    }

    # A revision file with no downgrade() at all (as OpenStack's): named as such, the walk goes on.
    write_history(versions, {"b1": BUILDS["b1"], "b2": BUILDS["b2"]})
    path = versions / "b2.py"
    path.write_text(path.read_text().split("def downgrade")[0])
    code, report = stairway_json(root)
    assert code == 1, report
    assert report["walked"] == 2 and report["downgrade_raised"] == ["b2"]
    assert report["revisions"][1]["problems"] == ["no downgrade() in the revision file"]

    # No flag and a full walk: exit 0.
    write_history(versions, {"b1": BUILDS["b1"]})
    code, report = stairway_json(root)
    assert code == 0, report
    assert report["ok"] and report["walked"] == 1


def test_from_models_names_what_is_missing(tmp_path: Path) -> None:
    """An env.py that passes no target_metadata: one line, exit 1, no traceback."""
    root = tmp_path / "project"
    root.mkdir()
    versions = make_project(root, "sync", f"sqlite:///{tmp_path / 'app.db'}")
    (root / "alembic" / "env.py").write_text(SYNC_ENV_PY)
    write_history(versions, DEPLOYED)
    result = run_cli("test", "stairway", "--from-models", cwd=root)
    assert result.returncode == 1, result.output
    assert "passes no target_metadata to context.configure" in result.stderr
    assert "Traceback" not in result.output
