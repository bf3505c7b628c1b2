"""Lint's report as the neutral :class:`~asyncmigrate.output.report.Report` (every format
renders that), and lint's text for people: findings grouped by revision, with their recipes."""

from __future__ import annotations

from functools import partial
from itertools import groupby
from typing import Any

from ..output import report as neutral
from ..output.report import relative
from .model import LintReport, Severity
from .rules import all_rules

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.ADVISORY: "cyan"}


def to_report(report: LintReport, *, show_advisory: bool = True) -> neutral.Report:
    """Every finding with its recipe, rendered SQL and source line; every rule for SARIF."""
    return neutral.Report(
        command="lint",
        findings=[
            neutral.Finding(
                rule=f.rule,
                severity=neutral.Severity(f.severity.value),
                message=f.message,
                revision=f.revision,
                path=f.path,
                line=f.line,
                detail=f"Instead:\n{f.recipe}",
                extra={"recipe": f.recipe, "source_line": f.source_line, "sql": f.sql},
            )
            for f in report.findings
        ],
        fields={"revisions": report.revisions},
        rules=[
            neutral.Rule(rule.id, rule.summary, neutral.Severity(rule.severity.value)) for rule in all_rules()
        ],
        text=partial(print_text, report, show_advisory=show_advisory),
    )


def print_text(report: LintReport, console: Any, *, show_advisory: bool = True) -> None:
    """Grouped by revision, each finding with its line, the lock it takes and the recipe."""
    from rich.markup import escape

    shown = [f for f in report.findings if show_advisory or f.severity is not Severity.ADVISORY]
    for revision, group in groupby(shown, key=lambda f: (f.revision, f.path)):
        console.print(f"[bold]{escape(str(revision[0]))}[/bold]  [dim]{escape(relative(revision[1]))}[/dim]")
        for finding in group:
            where = f"line {finding.line}: " if finding.line else ""
            console.print(
                f"  [{_STYLE[finding.severity]}]{finding.severity.value}[/] [bold]{finding.rule}[/bold]"
                f"  {escape(where)}{escape(finding.message)}"
            )
            if finding.source_line:
                console.print(f"    [dim]>[/dim] {escape(finding.source_line)}")
            if finding.recipe:
                console.print("    [green]instead:[/green]")
                for line in finding.recipe.splitlines():
                    console.print(f"      {escape(line)}", style="green")
    counts = {level: sum(1 for f in report.findings if f.severity is level) for level in Severity}
    console.print(
        f"{len(report.revisions)} revision(s) linted: {counts[Severity.ERROR]} error(s),"
        f" {counts[Severity.WARNING]} warning(s), {counts[Severity.ADVISORY]} advisory note(s)"
    )
