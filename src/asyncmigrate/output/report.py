"""The neutral report every command with machine output builds, whatever it checked.

A command turns its own results into findings once; each output format (``output/formats.py``)
reads only this report, so a new format works for every command without touching any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Severity(str, Enum):
    """An error fails the command; a warning and an advisory note only inform."""

    ERROR = "error"
    WARNING = "warning"
    ADVISORY = "advisory"


@dataclass(frozen=True)
class Finding:
    """One thing a command found: which rule or check, how bad, where, and what it says."""

    rule: str
    severity: Severity
    message: str
    revision: str | None = None
    path: str | None = None
    line: int | None = None
    #: What to do about it, shown after the message where a format has room (annotations).
    detail: str = ""
    #: The command's own fields, written after the common ones in JSON (lint's recipe, sql).
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object: the common fields in a fixed order, then the command's own."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "revision": self.revision,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            **self.extra,
        }


@dataclass(frozen=True)
class Rule:
    """A rule or check a command applies, as SARIF lists them for a dashboard."""

    id: str
    summary: str
    severity: Severity = Severity.ERROR


@dataclass
class Report:
    """What one command found, ready for any output format."""

    #: The command as typed after ``asyncmigrate``: "lint", "test stairway", "verify".
    command: str
    findings: list[Finding] = field(default_factory=list)
    #: Top-level JSON fields written before "findings" (lint's "revisions").
    fields: dict[str, Any] = field(default_factory=dict)
    #: Every rule the command applies (SARIF's rule list); empty: the rules that were hit.
    rules: list[Rule] = field(default_factory=list)
    #: What ``--format json`` prints when the command's JSON document predates this report and
    #: scripts parse it; None: :meth:`as_dict`.
    document: Any = None
    #: The command's own text for people, given the console; None: one line per finding.
    text: Callable[[Any], None] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**self.fields, "findings": [finding.as_dict() for finding in self.findings]}

    def rules_hit(self) -> list[Rule]:
        """:attr:`rules`, or when the command names none, one per rule id found."""
        if self.rules:
            return self.rules
        seen: dict[str, Rule] = {}
        for finding in self.findings:
            seen.setdefault(finding.rule, Rule(finding.rule, finding.rule, finding.severity))
        return list(seen.values())


def relative(path: str | None) -> str:
    """``path`` from the working directory, as CI tools match files; as given when outside it."""
    if not path:
        return "<revision>"
    try:
        return Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path
