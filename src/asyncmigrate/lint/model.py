"""The linter's vocabulary: severities, findings and the per-run report."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

#: The databases lint judges (a rule names those it applies to); ``cli/lint.py``'s ``--dialect``
#: choices repeat them so the command line starts without importing the linter.
DIALECTS = ("postgresql", "mysql", "mariadb", "sqlite")

#: Written in a recipe where the offending line itself belongs (moved into a block, say).
SOURCE_LINE = "<<source line>>"


class Severity(str, Enum):
    """Error blocks a deploy (exit 1); warning and advisory only inform."""

    ERROR = "error"
    WARNING = "warning"
    ADVISORY = "advisory"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "advisory": 0}[self.value]


@dataclass(frozen=True)
class Finding:
    """One rule hit: where it is, what lock it takes, and the recipe to paste instead."""

    rule: str
    severity: Severity
    message: str
    recipe: str = ""
    revision: str | None = None
    path: str | None = None
    line: int | None = None
    source_line: str | None = None
    sql: str | None = None


@dataclass
class LintReport:
    """Everything one lint run found, plus the SQL each revision rendered to."""

    findings: list[Finding] = field(default_factory=list)
    sql: dict[str, str] = field(default_factory=dict)
    revisions: list[str] = field(default_factory=list)
    #: Things the user should know that are not findings (models not loaded, server silent).
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]
