"""One output layer: every command with machine output takes ``--format`` from the registry in
``output/formats.py`` and renders through it. Each format of lint, test and verify gives output a
machine reads (JSON parses, SARIF 2.1.0, GitHub annotations), or, where findings point at no file,
a one-line refusal; a renderer registered once is offered by every command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from asyncmigrate.cli.main import cli
from asyncmigrate.output import formats
from asyncmigrate.output.report import Report
from asyncmigrate.scaffold import init_project

from .conftest import run_cli, write_revision
from .test_lint import write_rev

#: Every command with machine output; those whose findings point at files offer github and sarif.
LOCATED = {"lint", "verify", "check-heads"}
UNLOCATED = {f"test {name}" for name in ("stairway", "models", "heads", "no-trace", "imports", "all")}


def format_options() -> dict[str, click.Parameter]:
    """Each command's ``--format`` option, by the command as typed."""

    def walk(command: click.Command, prefix: str) -> Iterator[tuple[str, click.Parameter]]:
        for param in command.params:
            if param.name == "output_format":
                yield prefix, param
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{prefix} {name}".strip())

    return dict(walk(cli, ""))


@pytest.fixture
def made_up() -> Iterator[str]:
    """A format nobody ships, registered the one way a format is added."""

    @formats.register("made-up")
    def render(report: Report, out: Any) -> None:
        out.out(f"{report.command}: {len(report.findings)} finding(s)")

    yield "made-up"
    del formats.FORMATS["made-up"]


def test_every_command_with_machine_output_offers_a_new_renderer(made_up: str) -> None:
    options = format_options()
    assert set(options) == LOCATED | UNLOCATED
    for command, option in options.items():
        assert isinstance(option.type, click.Choice), command
        choices = list(option.type.choices)
        assert choices[:2] == ["text", "json"] and made_up in choices, command
        assert ("sarif" in choices and "github" in choices) == (command in LOCATED), command
        usage = CliRunner().invoke(cli, [*command.split(), "--help"])
        assert made_up in usage.output, (command, usage.output)


def test_a_new_renderer_renders(made_up: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """check-heads, in this process (where the renderer is registered), on two unmerged heads."""
    init_project(project_dir=tmp_path, models="unused")
    write_revision(tmp_path, "a1", None, "t1")
    write_revision(tmp_path, "b2", "a1", "t2")
    write_revision(tmp_path, "x2", "a1", "tx")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["check-heads", "--format", made_up])
    assert result.exit_code == 1, result.output
    assert result.stdout == "check-heads: 1 finding(s)\n"


# lint


@pytest.fixture
def lint_project(seed_project: Path) -> Path:
    """b2 builds an index without CONCURRENTLY on an existing table: one error on line 12."""
    assert run_cli("init", cwd=seed_project).returncode == 0
    write_rev(
        seed_project,
        "a1",
        None,
        'op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),'
        ' sa.Column("total", sa.Integer))',
        'op.drop_table("orders")',
    )
    write_rev(seed_project, "b2", "a1", 'op.create_index("ix_orders_id_total", "orders", ["id", "total"])')
    return seed_project


def lint(project: Path, output_format: str) -> Any:
    return run_cli(
        "lint", "--dialect", "postgresql", "--pg-version", "15", "--format", output_format, cwd=project
    )


def assert_sarif(text: str, rule: str, uri_end: str) -> dict[str, Any]:
    log = json.loads(text)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    assert run["tool"]["driver"]["name"] == "asyncmigrate" and run["tool"]["driver"]["rules"]
    [result] = [r for r in run["results"] if r["ruleId"] == rule]
    assert result["level"] == "error" and result["message"]["text"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(uri_end)
    return result


def test_lint_in_every_format(lint_project: Path) -> None:
    document = json.loads(lint(lint_project, "json").stdout)
    assert list(document) == ["revisions", "findings"]
    [finding] = document["findings"]
    assert list(finding) == [
        "rule", "severity", "revision", "path", "line", "message", "recipe", "source_line", "sql"
    ]  # fmt: skip
    assert (finding["rule"], finding["revision"], finding["line"]) == ("index-not-concurrent", "b2", 12)

    github = lint(lint_project, "github")
    assert github.returncode == 1
    [line] = github.stdout.splitlines()
    assert line.startswith("::error file=migrations/versions/b2_step.py,line=12,title=index-not-concurrent::")

    result = assert_sarif(lint(lint_project, "sarif").stdout, "index-not-concurrent", "b2_step.py")
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 12}

    text = lint(lint_project, "text")
    assert text.returncode == 1 and "2 revision(s) linted: 1 error(s)" in text.stdout
    assert lint(lint_project, "human").stdout == text.stdout  # what scripts called it before

    unknown = lint(lint_project, "xml")
    assert unknown.returncode == 2 and "Invalid value for '--format'" in unknown.stderr


# test


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    """a1 -> b2 -> c3, each creating one table."""
    root = tmp_path / "plain"
    root.mkdir()
    init_project(project_dir=root, models="unused")
    write_revision(root, "a1", None, "t1")
    write_revision(root, "b2", "a1", "t2")
    write_revision(root, "c3", "b2", "t3")
    return root


def test_the_test_command_in_every_format(plain: Path, db_url: str) -> None:
    c3 = plain / "migrations" / "versions" / "c3_t3.py"  # its downgrade leaves its table behind
    c3.write_text(c3.read_text().replace("op.drop_table('t3')", "op.execute('SELECT 1')"))
    base = ("--url", db_url, "test")

    heads = run_cli(*base, "heads", "--format", "json", cwd=plain)
    assert heads.returncode == 0, heads.output
    assert json.loads(heads.stdout) == [{"check": "single head", "ok": True, "problems": []}]

    stairway = run_cli(*base, "stairway", "--format", "json", cwd=plain)
    assert stairway.returncode == 1, stairway.output
    report = json.loads(stairway.stdout)
    assert report["failed"] == ["c3"] and report["not_restored"] == ["c3"] and report["walked"] == 3

    everything = run_cli(*base, "all", "--format", "json", cwd=plain)
    assert everything.returncode == 1, everything.output
    document = json.loads(everything.stdout)  # one document: the checks, then the stairway
    assert [check["check"] for check in document["checks"]] == [
        "revision files import", "single head", "models", "downgrade to base leaves no trace"
    ]  # fmt: skip
    assert document["checks"][3]["problems"][0] == "table t3 should not exist"
    assert document["stairway"]["failed"] == ["c3"]

    text = run_cli(*base, "stairway", "--format", "text", cwd=plain)
    assert text.returncode == 1 and "3 of 3 revisions walked, 1 flagged" in text.stdout

    for output_format in ("github", "sarif"):  # no file and line to point at: said in one line
        refused = run_cli(*base, "stairway", "--format", output_format, cwd=plain)
        assert refused.returncode == 2, refused.output
        [error] = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
        assert error == (
            f"Error: Invalid value for '--format': {output_format} annotates files and lines;"
            " what asyncmigrate test stairway finds has none (use text or json)"
        )
        assert refused.stdout == ""


# verify


def test_verify_in_every_format(plain: Path, db_url: str) -> None:
    assert run_cli("--url", db_url, "upgrade", "head", cwd=plain).returncode == 0
    clean = run_cli("--url", db_url, "verify", "--format", "json", cwd=plain)
    assert clean.returncode == 0, clean.output
    assert json.loads(clean.stdout) == {"accepted": [], "findings": []}

    with (plain / "migrations" / "versions" / "b2_t2.py").open("a") as file:
        file.write("# edited after it was applied\n")

    verify = run_cli("--url", db_url, "verify", "--format", "json", cwd=plain)
    assert verify.returncode == 1, verify.output
    [finding] = json.loads(verify.stdout)["findings"]
    assert (finding["rule"], finding["severity"], finding["revision"]) == ("edited", "error", "b2")
    assert finding["path"].endswith("b2_t2.py")

    for env in ({}, {"ASYNCMIGRATE_NO_GRAPH_CACHE": "1"}):  # the file found by Alembic too
        github = run_cli("--url", db_url, "verify", "--format", "github", cwd=plain, env=env)
        assert github.returncode == 1
        [line] = github.stdout.splitlines()
        assert line.startswith("::error file=migrations/versions/b2_t2.py,title=edited::"), env

    sarif = run_cli("--url", db_url, "verify", "--format", "sarif", cwd=plain)
    assert sarif.returncode == 1
    assert assert_sarif(sarif.stdout, "edited", "b2_t2.py")["properties"] == {"revision": "b2"}

    text = run_cli("--url", db_url, "verify", cwd=plain)
    assert text.returncode == 1 and text.stdout.startswith("edited: ")

    accepted = run_cli("--url", db_url, "verify", "--accept", "b2", "--format", "json", cwd=plain)
    assert accepted.returncode == 0, accepted.output
    document = json.loads(accepted.stdout)
    assert [item["revision"] for item in document["accepted"]] == ["b2"] and document["findings"] == []


def test_check_heads_in_machine_formats(tmp_path: Path) -> None:
    init_project(project_dir=tmp_path, models="unused")
    write_revision(tmp_path, "a1", None, "t1")
    write_revision(tmp_path, "b2", "a1", "t2")
    assert json.loads(run_cli("check-heads", "--format", "json", cwd=tmp_path).stdout) == {"findings": []}
    write_revision(tmp_path, "x2", "a1", "tx")
    result = run_cli("check-heads", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.output
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "multiple-heads" and "b2, x2" in finding["message"]
    github = run_cli("check-heads", "--format", "github", cwd=tmp_path)
    assert github.returncode == 1 and github.stdout.startswith("::error title=multiple-heads::2 heads")
