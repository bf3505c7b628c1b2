"""``asyncmigrate lint`` on real projects: selection, controls, output formats, model intent,
server version detection, and the lint that follows ``revision --autogenerate``."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from .conftest import run_cli

#: These fixtures lint other rules; their downgrades say why they are empty.
NO_DOWNGRADE = "pass  # asyncmigrate: ignore[empty-downgrade] fixture"


def write_rev(project: Path, rev: str, down: str | None, upgrade: str, downgrade: str = NO_DOWNGRADE) -> Path:
    """A revision file with the given upgrade()/downgrade() bodies."""
    path = project / "migrations" / "versions" / f"{rev}_step.py"
    body = textwrap.indent(textwrap.dedent(upgrade).strip(), "    ")
    down_body = textwrap.indent(textwrap.dedent(downgrade).strip(), "    ")
    path.write_text(
        f'"""step {rev}"""\n'
        "from alembic import op\n"
        "import sqlalchemy as sa\n\n"
        f"revision = {rev!r}\n"
        f"down_revision = {down!r}\n"
        "branch_labels = None\n"
        "depends_on = None\n\n\n"
        f"def upgrade():\n{body}\n\n\n"
        f"def downgrade():\n{down_body}\n"
    )
    return path


@pytest.fixture
def project(seed_project: Path) -> Path:
    assert run_cli("init", cwd=seed_project).returncode == 0
    write_rev(
        seed_project,
        "a1",
        None,
        """
        op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("total", sa.Integer))
        op.create_index("ix_orders_total", "orders", ["total"])
        """,
        'op.drop_table("orders")',
    )
    write_rev(seed_project, "b2", "a1", 'op.create_index("ix_orders_id_total", "orders", ["id", "total"])')
    return seed_project


def lint(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("lint", "--dialect", "postgresql", "--pg-version", "15", *args, cwd=project)


def findings(project: Path, *args: str) -> list[dict[str, object]]:
    result = lint(project, "--format", "json", *args)
    assert result.returncode in (0, 1), result.output
    return json.loads(result.stdout)["findings"]


def rules_of(found: list[dict[str, object]], revision: str | None = None) -> list[str]:
    return [str(f["rule"]) for f in found if revision is None or f["revision"] == revision]


def test_existing_table_index_is_an_error_with_line_and_recipe(project: Path) -> None:
    result = lint(project)
    assert result.returncode == 1, result.output
    assert "index-not-concurrent" in result.stdout
    assert "line 12" in result.stdout
    assert "SHARE lock" in result.stdout
    assert "postgresql_concurrently=True" in result.stdout
    assert "autocommit_block" in result.stdout
    assert rules_of(findings(project)) == ["index-not-concurrent"]


def test_json_github_and_sarif_formats(project: Path) -> None:
    [finding] = findings(project)
    assert finding["revision"] == "b2" and finding["line"] == 12 and finding["severity"] == "error"
    assert str(finding["path"]).endswith("b2_step.py") and finding["recipe"]

    github = lint(project, "--format", "github")
    assert github.returncode == 1
    [line] = github.stdout.strip().splitlines()
    assert line.startswith("::error file=migrations/versions/b2_step.py,line=12,title=index-not-concurrent::")

    sarif = json.loads(lint(project, "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "index-not-concurrent" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 12
    assert any(rule["id"] == "set-not-null" for rule in sarif["runs"][0]["tool"]["driver"]["rules"])


def test_safe_recipe_lints_clean(project: Path) -> None:
    write_rev(
        project,
        "b2",
        "a1",
        """
        with op.get_context().autocommit_block():
            op.create_index("ix_orders_id_total", "orders", ["id", "total"], postgresql_concurrently=True,
                            if_not_exists=True)
        """,
    )
    result = lint(project)
    assert result.returncode == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.stdout


def test_ignore_comment_on_the_line_and_for_the_file(project: Path) -> None:
    path = project / "migrations" / "versions" / "b2_step.py"
    text = path.read_text()
    path.write_text(
        text.replace(
            '["id", "total"])', '["id", "total"])  # asyncmigrate: ignore[index-not-concurrent] tiny'
        )
    )
    assert lint(project).returncode == 0
    path.write_text("# asyncmigrate: ignore[index-not-concurrent] table has 10 rows\n" + text)
    assert lint(project).returncode == 0
    path.write_text(text.replace('["id", "total"])', '["id", "total"])  # asyncmigrate: ignore[drop-table]'))
    assert lint(project).returncode == 1  # another rule's ignore does not hide this one


def test_config_disable_severity_and_start_after(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text()
    pyproject.write_text(
        original + '\n[tool.asyncmigrate.lint]\nseverity = {"index-not-concurrent" = "warning"}\n'
    )
    result = lint(project)
    assert result.returncode == 0 and "warning index-not-concurrent" in result.stdout

    pyproject.write_text(original + '\n[tool.asyncmigrate.lint]\ndisable = ["index-not-concurrent"]\n')
    assert findings(project) == []

    pyproject.write_text(original + '\n[tool.asyncmigrate.lint]\nstart_after = "b2"\n')
    write_rev(project, "c3", "b2", 'op.create_index("ix_orders_total2", "orders", ["total"])')
    assert [f["revision"] for f in findings(project)] == ["c3"]


def test_bad_config_is_one_clear_line(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.asyncmigrate.lint]\ndisable = ["no-such-rule"]\n')
    result = lint(project)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: unknown lint rule 'no-such-rule'")
    assert "Traceback" not in result.output

    assert run_cli("lint", "--pg-version", "fifteen", "--dialect", "postgresql", cwd=project).returncode == 1


def test_range_lints_only_those_revisions_but_knows_the_history(project: Path) -> None:
    write_rev(project, "c3", "b2", 'op.create_index("ix_orders_total2", "orders", ["total"])')
    assert [f["revision"] for f in findings(project, "c3:head")] == ["c3"]
    assert [f["revision"] for f in findings(project, "a1:b2")] == ["b2"]


def test_since_ref_lints_what_the_branch_adds(project: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.email=a@b", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=a@b", "-c", "user.name=t", "commit", "-qm", "base")
    git("checkout", "-qb", "feature")
    write_rev(project, "c3", "b2", 'op.drop_column("orders", "total")')
    found = findings(project, "--since-ref", "main")
    assert {f["revision"] for f in found} == {"c3"}
    assert "drop-column" in rules_of(found)


def test_models_intent_drop_of_a_mapped_column(project: Path) -> None:
    # the tutorial's User model maps users.email
    write_rev(
        project,
        "c3",
        "b2",
        """
        op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.String))
        """,
    )
    write_rev(project, "d4", "c3", 'op.drop_column("users", "email")')
    found = findings(project, "d4:head")
    assert rules_of(found) == ["drop-column", "drop-column-still-mapped", "destructive-without-check"]
    assert found[1]["severity"] == "error"


def test_models_that_fail_to_import_do_not_stop_the_lint(project: Path) -> None:
    (project / "src" / "models" / "user.py").write_text(
        "raise RuntimeError('boom')\n\n\nclass User:\n    pass\n"
    )
    result = lint(project)
    assert result.returncode == 1
    assert "models not loaded" in result.stderr and "boom" in result.stderr
    assert "index-not-concurrent" in result.stdout


def test_downgrade_is_linted_on_request(project: Path) -> None:
    assert "a1 (downgrade)" not in {f["revision"] for f in findings(project)}
    found = findings(project, "--downgrade")
    assert ("a1 (downgrade)", "drop-table") in {(f["revision"], f["rule"]) for f in found}


def test_two_heads_are_non_linear_history(project: Path) -> None:
    write_rev(project, "c3", "a1", "pass")
    found = findings(project)
    assert ("c3", "non-linear-history") in {(f["revision"], f["rule"]) for f in found}


def test_code_that_cannot_render_offline_is_reported_not_crashed(project: Path) -> None:
    write_rev(
        project,
        "c3",
        "b2",
        """
        rows = op.get_bind().execute(sa.text("SELECT id FROM orders")).fetchall()
        """,
    )
    found = findings(project, "c3:head")
    assert rules_of(found) == ["raw-sql-uninspected"]
    assert found[0]["line"] == 12


async def test_server_version_comes_from_the_live_server(project: Path, pg_url: str) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.asyncmigrate.lint]\npg_version = "10"\n')
    write_rev(
        project,
        "b2",
        "a1",
        'op.add_column("orders", sa.Column("state", sa.String(10), server_default="new", nullable=False))',
    )
    # config alone says 10: a constant default rewrites the table there
    offline = run_cli("lint", "--dialect", "postgresql", "--format", "json", cwd=project)
    assert "add-column-default-rewrite" in rules_of(json.loads(offline.stdout)["findings"])
    # the live server (15) wins over the config: fast default, nothing to say
    live = run_cli("lint", "--format", "json", cwd=project, env={"DATABASE_URL": pg_url})
    assert live.returncode == 0, live.output
    assert json.loads(live.stdout)["findings"] == []


def test_autogenerate_prints_the_lint_of_the_new_file_and_still_writes_it(seed_project: Path) -> None:
    assert run_cli("init", cwd=seed_project).returncode == 0
    pyproject = seed_project / "pyproject.toml"  # the embedded SQLite default, chosen (no terminal here)
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", "[tool.asyncmigrate]\nembedded_sqlite = true\n"
        )
    )
    assert run_cli("revision", "--autogenerate", "-m", "users", cwd=seed_project).returncode == 0
    assert run_cli("upgrade", "head", cwd=seed_project).returncode == 0
    user = seed_project / "src" / "models" / "user.py"
    user.write_text(user.read_text() + "    age: Mapped[int] = mapped_column(default=0)\n")
    result = run_cli("revision", "--autogenerate", "-m", "age", cwd=seed_project)
    assert result.returncode == 0, result.output
    assert "Generated" in result.stdout
    assert "add-column-required" in result.stdout
    assert "Python-side" in result.stdout
    assert "server_default" in result.stdout  # the recipe
    assert len(list((seed_project / "migrations" / "versions").glob("*_age.py"))) == 1


def test_mariadb_is_recognised_from_the_live_server(project: Path) -> None:
    admin = os.environ.get("ASYNCMIGRATE_TEST_MYSQL_URL")
    if not admin:
        pytest.skip("MariaDB is not configured: run the tests with scripts/test")
    write_rev(
        project,
        "b2",
        "a1",
        'op.add_column("orders", sa.Column("state", sa.String(10), server_default="new"))',
    )
    # MariaDB >= 10.3.2 adds a column with a literal default INSTANTly
    live = run_cli("lint", "--format", "json", cwd=project, env={"DATABASE_URL": admin})
    assert live.returncode == 0, live.output
    assert json.loads(live.stdout)["findings"] == []
    old = run_cli("lint", "--dialect", "mysql", "--mysql-version", "8.0.11", "--format", "json", cwd=project)
    assert rules_of(json.loads(old.stdout)["findings"]) == ["add-column-default-rewrite"]


async def test_lint_from_a_running_event_loop(project: Path) -> None:
    from asyncmigrate import Migrator
    from asyncmigrate.lint import LintRequest

    migrator = Migrator.from_pyproject(project / "pyproject.toml")
    report = await migrator.lint(LintRequest(dialect="postgresql", pg_version="15"))
    assert [(f.revision, f.rule) for f in report.findings] == [("b2", "index-not-concurrent")]
    assert report.revisions == ["a1", "b2"]
    assert "CREATE INDEX ix_orders_id_total ON orders (id, total)" in report.sql["b2"]
