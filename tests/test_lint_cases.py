"""The linter against its case set (tests/lint_cases/*.toml): every case must produce exactly the
error- and warning-level rule ids it expects, no more and no fewer, and every finding must say
what is wrong and what to do instead. Advisory findings are allowed anywhere and never counted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from asyncmigrate.lint.casefile import CaseFileError, LintCase, family, load_cases

CASE_DIR = Path(__file__).parent / "lint_cases"
CASES = load_cases(CASE_DIR)
VERDICT_SEVERITIES = {"error", "warning"}


def _explain(case: LintCase, report, got: set[str]) -> str:
    """Everything needed to judge a mismatch without re-running it: the diff, the why, the SQL."""
    lines = [
        f"{case.source}: {case.name} ({case.dialect} {case.version})",
        f"  missing:    {sorted(case.expect - got) or '-'}",
        f"  unexpected: {sorted(got - case.expect) or '-'}",
        f"  note: {case.note}",
        "  findings:",
        *(f"    {f.severity.value:8s} {f.rule}: {f.message}" for f in report.findings),
        "  rendered SQL:",
        *(f"    {line}" for line in report.sql.get("case", "(none)").splitlines() if line.strip()),
    ]
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_lint_case(case: LintCase) -> None:
    report = case.lint()
    got = {finding.rule for finding in report.findings if finding.severity.value in VERDICT_SEVERITIES}
    assert got == set(case.expect), _explain(case, report, got)
    for finding in report.findings:
        assert finding.message.strip(), f"{finding.rule} has no message"
        assert finding.recipe.strip(), f"{finding.rule} has no recipe"


def test_case_set_is_broad_and_balanced() -> None:
    """A linter that flags everything passes an all-unsafe set; safe cases keep it honest."""
    assert len(CASES) >= 80
    families = Counter(family(case.dialect) for case in CASES)
    assert set(families) == {"postgresql", "mysql", "sqlite"}, families
    safe = sum(case.safe for case in CASES)
    assert safe >= len(CASES) - safe, f"{safe} safe vs {len(CASES) - safe} unsafe"


def test_loader_names_the_file_and_case(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text(
        '[[case]]\nname = "no verdict"\ndialect = "postgresql"\nversion = "15"\nupgrade = "pass"\n'
    )
    with pytest.raises(
        CaseFileError, match=r"broken\.toml: case 'no verdict': missing required key\(s\) expect"
    ):
        load_cases(tmp_path)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('dialect = "oracle"\nexpect = []', "unknown dialect 'oracle'"),
        ('dialect = "postgresql"\nexpect = ["drop-not-null"]', "advisory rules never go in 'expect'"),
        ('dialect = "sqlite"\nexpect = ["index-not-concurrent"]', "not error or warning rules for sqlite"),
    ],
)
def test_loader_rejects_bad_cases(tmp_path: Path, body: str, problem: str) -> None:
    (tmp_path / "bad.toml").write_text(f'[[case]]\nname = "x"\nversion = "1"\nupgrade = "pass"\n{body}\n')
    with pytest.raises(CaseFileError, match=problem):
        load_cases(tmp_path)


def test_loader_rejects_duplicate_names(tmp_path: Path) -> None:
    case = '[[case]]\nname = "same"\ndialect = "sqlite"\nversion = "3.45"\nupgrade = "pass"\nexpect = []\n'
    (tmp_path / "a.toml").write_text(case)
    (tmp_path / "b.toml").write_text(case)
    with pytest.raises(CaseFileError, match=r"b\.toml: case 'same' is already defined in a\.toml"):
        load_cases(tmp_path)
