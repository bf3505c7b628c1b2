"""The lint rules document themselves: every rule module registers, every docstring has the same
sections, its examples really are flagged and its fixes really are not (nor at error level by
another rule), and docs/lint-rules.md,
``lint --explain`` and ``lint --list-rules`` say what the code says.

Code blocks in a rule's "Example" and "Fix" sections are linted. The fence's info string
carries the options: ```` ```python dialect=sqlite version=11 timeouts=off enable ```` (``enable``
turns an opt-in rule on); blocks tagged ``history``, ``models`` or ``downgrade`` are the context
of the section's other Python blocks (earlier revisions, the project's models, the
``downgrade()`` body). Blocks in another language (``sql``, ``text``) are shown, not run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from asyncmigrate.lint.docs import PAGE_COMMAND, find_rule, page
from asyncmigrate.lint.engine import LintConfig, lint_source, parse_version
from asyncmigrate.lint.rules import SECTIONS, Rule, all_rules

from .conftest import run_cli

RULES = all_rules()
RULES_DIR = Path(__file__).parents[1] / "src" / "asyncmigrate" / "lint" / "rules"
PAGE = Path(__file__).parents[1] / "docs" / "lint-rules.md"
#: Judged on the revision graph, not on one revision's code: no example can run through lint_source.
GRAPH_RULES = {"non-linear-history"}
_FENCE = re.compile(r"^```(\S+)([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_FAMILIES = {"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MySQL", "sqlite": "SQLite"}


def test_every_rule_module_registers_its_rule() -> None:
    modules = {path.stem for path in RULES_DIR.glob("*.py") if not path.name.startswith("_")}
    registered = {rule.module.rsplit(".", 1)[-1] for rule in RULES}
    assert modules == registered
    assert len({rule.id for rule in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_rule_docstring_has_every_section(rule: Rule) -> None:
    assert rule.doc.startswith(f"{rule.id}: "), "the docstring's first line is 'id: what it is about'"
    sections = rule.sections
    assert tuple(sections) == SECTIONS, f"{rule.module}: sections {list(sections)}, expected {SECTIONS}"
    for title, body in sections.items():
        assert len(body) >= 20, f"{rule.id}: section {title!r} is (nearly) empty"
    # a rule judged differently per database (built with per_dialect) says why on each of them
    families = {_FAMILIES[dialect] for dialect in rule.dialects}
    if rule.check.__qualname__.startswith("per_dialect."):
        for family in families:
            assert family in sections["Why"], f"{rule.id}: 'Why' does not mention {family}"
    if rule.id not in GRAPH_RULES:
        assert _blocks(sections["Example"]), f"{rule.id}: no ```python example to run"


def _blocks(section: str) -> list[tuple[set[str], dict[str, str], str]]:
    """The Python blocks of a section: (flags, options, code)."""
    found = []
    for language, info, code in _FENCE.findall(section):
        if language != "python":
            continue
        words = info.split()
        options = dict(word.split("=", 1) for word in words if "=" in word)
        found.append(({word for word in words if "=" not in word}, options, code))
    return found


def _lint(rule: Rule, section: str) -> list[tuple[str, set[str], set[str]]]:
    """Lint each runnable block of a section: (code, the rule ids found, those at error level)."""
    blocks = _blocks(section)
    context = {
        tag: code for flags, _, code in blocks for tag in ("history", "models", "downgrade") if tag in flags
    }
    results = []
    for flags, options, code in blocks:
        if flags & {"history", "models", "downgrade"}:
            continue
        dialect = options.get("dialect") or next(
            d for d in ("postgresql", "mysql", "mariadb", "sqlite") if d in rule.dialects
        )
        timeouts = options.get("timeouts") != "off"
        config = LintConfig(
            dialect=dialect,
            version=parse_version(options.get("version"), dialect),
            lock_timeout_configured=timeouts,
            statement_timeout_configured=timeouts,
            enabled=frozenset({rule.id}) if "enable" in flags else frozenset(),
        )
        report = lint_source(
            code,
            models=context.get("models"),
            history=[context["history"]] if "history" in context else (),
            config=config,
            downgrade=context.get("downgrade"),
        )
        errors = {finding.rule for finding in report.findings if finding.severity.value == "error"}
        results.append((code, {finding.rule for finding in report.findings}, errors))
    return results


DOCUMENTED = [rule for rule in RULES if rule.id not in GRAPH_RULES]


@pytest.mark.parametrize("rule", DOCUMENTED, ids=[rule.id for rule in DOCUMENTED])
def test_examples_are_flagged_and_fixes_are_not(rule: Rule) -> None:
    examples = _lint(rule, rule.sections.get("Example", ""))
    assert examples, f"{rule.id}: no runnable example"
    for code, found, _ in examples:
        assert rule.id in found, f"{rule.id}: its example is not flagged ({sorted(found)}):\n{code}"
    for code, found, errors in _lint(rule, rule.sections.get("Fix", "")):
        assert rule.id not in found, f"{rule.id}: its fix is flagged too:\n{code}"
        assert not errors, f"{rule.id}: its fix trades one error for another ({sorted(errors)}):\n{code}"


def test_page_is_up_to_date() -> None:
    assert PAGE.exists(), f"docs/lint-rules.md is missing; run: {PAGE_COMMAND}"
    assert PAGE.read_text(encoding="utf-8") == page(), (
        f"docs/lint-rules.md is out of date; run: {PAGE_COMMAND}"
    )
    for rule in RULES:
        assert f"### {rule.id}\n" in PAGE.read_text(encoding="utf-8")


#: Neither forced nor refused colour: a pipe is then plain text.
@pytest.fixture
def no_forced_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard output a pipe, as rich sees it: FORCE_COLOR and TTY_COMPATIBLE unset, not empty
    (rich 13.0 takes an empty FORCE_COLOR as set)."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)


@pytest.mark.usefixtures("no_forced_terminal")
def test_explain_prints_the_docstring(tmp_path: Path) -> None:
    result = run_cli("lint", "--explain", "set-not-null", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# set-not-null\n")
    for title in SECTIONS:
        assert f"\n## {title}\n" in result.stdout
    assert find_rule("set-not-null").sections["Fix"] in result.stdout


def test_explain_on_a_terminal_renders_the_markdown(tmp_path: Path) -> None:
    result = run_cli(
        "lint", "--explain", "index-not-concurrent", cwd=tmp_path, env={"FORCE_COLOR": "1", "COLUMNS": "80"}
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b[" in result.stdout
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert "What it flags" in plain and "## What it flags" not in plain
    assert max(len(line.rstrip()) for line in plain.splitlines()) <= 80


def test_explain_unknown_rule_is_one_line_with_the_nearest_ids(tmp_path: Path) -> None:
    result = run_cli("lint", "--explain", "set-not-nul", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: unknown lint rule 'set-not-nul'; did you mean set-not-null, drop-not-null,"
        " mysql-set-not-null-non-strict?"
    )
    assert "Traceback" not in result.stderr
    with pytest.raises(
        LookupError, match=r"^unknown lint rule 'zzz'; `asyncmigrate lint --list-rules` lists them$"
    ):
        find_rule("zzz")


@pytest.mark.usefixtures("no_forced_terminal")
def test_list_rules_text_and_json(tmp_path: Path) -> None:
    text = run_cli("lint", "--list-rules", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [rule.id for rule in RULES]
    assert "contract-change" in text.stdout and "(opt-in)" in text.stdout
    machine = run_cli("lint", "--list-rules", "--format", "json", cwd=tmp_path)
    assert machine.returncode == 0, machine.stderr
    listed = json.loads(machine.stdout)
    assert [entry["id"] for entry in listed] == [rule.id for rule in RULES]
    by_id = {entry["id"]: entry for entry in listed}
    assert by_id["set-not-null"] == {
        "id": "set-not-null",
        "severity": "error",
        "enabled_by_default": True,
        "dialects": ["postgresql", "sqlite"],
        "group": "PostgreSQL: locks and rewrites",
        "summary": find_rule("set-not-null").summary,
    }
    annotated = run_cli("lint", "--list-rules", "--format", "sarif", cwd=tmp_path)
    assert annotated.returncode == 2
    assert "--list-rules prints text or json, not sarif" in annotated.stderr


def test_page_check_names_the_command_when_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from asyncmigrate.lint.docs import main

    stale = tmp_path / "lint-rules.md"
    stale.write_text(page().replace("SET NOT NULL", "SET NULL"), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert f"is out of date; run: {PAGE_COMMAND}" in capsys.readouterr().err
    assert main([str(stale)]) == 0
    assert main(["--check", str(stale)]) == 0
