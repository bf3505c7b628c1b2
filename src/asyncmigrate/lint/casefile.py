"""The linter's case set: small migrations with the verdict a careful reviewer would give.

Each ``tests/lint_cases/*.toml`` file holds ``[[case]]`` tables: an ``upgrade()`` body, the
database it targets and the exact set of error/warning rule ids it must produce (``[]`` = safe).
The same files drive the test suite (``tests/test_lint_cases.py``) and the comparison with squawk
(``bench/lint.py``), so a case is written once and its verdict checked in both places. This module
only reads and validates them; a malformed case fails loudly, naming its file and case, rather
than silently testing nothing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import DIALECTS

if TYPE_CHECKING:
    from .model import LintReport

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def expectable_rules(dialect: str) -> dict[str, str]:
    """The rule ids a case may expect on ``dialect``, with their severity: the catalogue's
    error and warning rules that are on by default. Advisory and opt-in rules never decide a
    verdict, so listing one in ``expect`` is a mistake."""
    from .rules import all_rules

    return {
        rule.id: rule.severity.value
        for rule in all_rules()
        if dialect in rule.dialects and rule.enabled_by_default and rule.severity.value != "advisory"
    }


def family(dialect: str) -> str:
    """MariaDB cases share MySQL's rules."""
    return "mysql" if dialect == "mariadb" else dialect


_REQUIRED = ("name", "dialect", "version", "upgrade", "expect")
_OPTIONAL = ("history", "models", "timeouts", "note", "downgrade")


class CaseFileError(ValueError):
    """A case file that cannot be used: bad TOML, a missing key, a duplicate name."""


@dataclass(frozen=True)
class LintCase:
    """One migration and the findings it must produce."""

    name: str
    dialect: str
    version: str
    upgrade: str
    expect: frozenset[str]
    history: tuple[str, ...] = ()
    models: str | None = None
    timeouts: bool = True
    note: str = ""
    source: str = ""
    #: A ``downgrade()`` body; None: the case's revision has no downgrade function.
    downgrade: str | None = None

    @property
    def safe(self) -> bool:
        return not self.expect

    def lint(self) -> LintReport:
        """Run the linter on this case, with its history, models and timeout setting."""
        from .engine import lint_source

        return lint_source(
            self.upgrade,
            dialect=self.dialect,
            server_version=self.version,
            models=self.models,
            history=self.history,
            timeouts=self.timeouts,
            downgrade=self.downgrade,
        )


def load_cases(directory: str | Path) -> list[LintCase]:
    """Every case of every ``*.toml`` file in ``directory``, in file then document order."""
    files = sorted(Path(directory).glob("*.toml"))
    if not files:
        raise CaseFileError(f"no *.toml case files in {directory}")
    cases: list[LintCase] = []
    seen: dict[str, str] = {}
    for path in files:
        for case in _load_file(path):
            if case.name in seen:
                raise CaseFileError(
                    f"{path.name}: case {case.name!r} is already defined in {seen[case.name]}"
                )
            seen[case.name] = path.name
            cases.append(case)
    return cases


def _load_file(path: Path) -> list[LintCase]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CaseFileError(f"{path.name}: not valid TOML: {exc}") from exc
    unknown = set(document) - {"case"}
    if unknown:
        raise CaseFileError(f"{path.name}: unexpected top-level keys {sorted(unknown)} (only [[case]])")
    tables = document.get("case", [])
    if not isinstance(tables, list):
        raise CaseFileError(f"{path.name}: 'case' must be an array of tables ([[case]])")
    return [_parse_case(table, path.name, index) for index, table in enumerate(tables, start=1)]


def _parse_case(table: dict[str, Any], source: str, index: int) -> LintCase:
    label = f"{source}: case {table.get('name', f'#{index}')!r}"

    def fail(problem: str) -> CaseFileError:
        return CaseFileError(f"{label}: {problem}")

    missing = [key for key in _REQUIRED if key not in table]
    if missing:
        raise fail(f"missing required key(s) {', '.join(missing)}")
    unknown = set(table) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("name", "dialect", "version", "upgrade"):
        if not isinstance(table[key], str) or not table[key].strip():
            raise fail(f"{key!r} must be a non-empty string")
    if table["dialect"] not in DIALECTS:
        raise fail(f"unknown dialect {table['dialect']!r} (expected one of {', '.join(DIALECTS)})")
    expect = table["expect"]
    if not isinstance(expect, list) or not all(isinstance(rule, str) and rule for rule in expect):
        raise fail("'expect' must be a list of rule ids ([] for a safe migration)")
    if len(set(expect)) != len(expect):
        raise fail("'expect' lists a rule id twice")
    known = expectable_rules(table["dialect"])
    unknown_rules = sorted(set(expect) - set(known))
    if unknown_rules:
        raise fail(
            f"'expect' has rule id(s) {', '.join(unknown_rules)} that are not error or warning rules "
            f"for {table['dialect']} (advisory rules never go in 'expect')"
        )
    history = table.get("history", [])
    if not isinstance(history, list) or not all(isinstance(body, str) for body in history):
        raise fail("'history' must be a list of upgrade bodies, oldest first")
    models = table.get("models")
    if models is not None and not isinstance(models, str):
        raise fail("'models' must be Python source in a string")
    timeouts = table.get("timeouts", True)
    if not isinstance(timeouts, bool):
        raise fail("'timeouts' must be true or false")
    note = table.get("note", "")
    if not isinstance(note, str):
        raise fail("'note' must be a string")
    downgrade = table.get("downgrade")
    if downgrade is not None and not isinstance(downgrade, str):
        raise fail("'downgrade' must be a downgrade() body in a string")
    return LintCase(
        name=table["name"],
        dialect=table["dialect"],
        version=table["version"],
        upgrade=table["upgrade"],
        expect=frozenset(expect),
        history=tuple(history),
        models=models,
        timeouts=timeouts,
        note=note,
        source=source,
        downgrade=downgrade,
    )
