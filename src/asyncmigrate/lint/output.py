"""Lint findings as text for people (rich), JSON, GitHub workflow annotations and SARIF 2.1.0."""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path
from typing import Any

from .model import LintReport, Severity
from .rules import all_rules

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.ADVISORY: "cyan"}


def _relative(path: str | None) -> str:
    if not path:
        return "<revision>"
    try:
        return Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path


def render_human(report: LintReport, console: Any, *, show_advisory: bool = True) -> None:
    """Grouped by revision, each finding with its line, the lock it takes and the recipe."""
    from rich.markup import escape

    shown = [f for f in report.findings if show_advisory or f.severity is not Severity.ADVISORY]
    for revision, group in groupby(shown, key=lambda f: (f.revision, f.path)):
        console.print(f"[bold]{escape(str(revision[0]))}[/bold]  [dim]{escape(_relative(revision[1]))}[/dim]")
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


def render_json(report: LintReport) -> str:
    return json.dumps(
        {
            "revisions": report.revisions,
            "findings": [
                {
                    "rule": f.rule,
                    "severity": f.severity.value,
                    "revision": f.revision,
                    "path": f.path,
                    "line": f.line,
                    "message": f.message,
                    "recipe": f.recipe,
                    "source_line": f.source_line,
                    "sql": f.sql,
                }
                for f in report.findings
            ],
        },
        indent=2,
    )


def _escape_github(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(report: LintReport) -> str:
    """``::error file=...,line=...,title=rule::message`` lines for GitHub Actions."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.ADVISORY: "notice"}
    lines = []
    for finding in report.findings:
        props = [f"file={_escape_github(_relative(finding.path), property_value=True)}"]
        if finding.line:
            props.append(f"line={finding.line}")
        props.append(f"title={_escape_github(finding.rule, property_value=True)}")
        body = f"{finding.message}\n\nInstead:\n{finding.recipe}"
        lines.append(f"::{level[finding.severity]} {','.join(props)}::{_escape_github(body)}")
    return "\n".join(lines)


def render_sarif(report: LintReport, version: str) -> str:
    """A SARIF 2.1.0 log, the format code-scanning dashboards ingest."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.ADVISORY: "note"}
    rules = [
        {
            "id": rule.id,
            "shortDescription": {"text": rule.summary},
            "defaultConfiguration": {"level": level[rule.severity]},
        }
        for rule in all_rules()
    ]
    results = []
    for finding in report.findings:
        region = {"startLine": finding.line} if finding.line else {}
        location: dict[str, Any] = {"artifactLocation": {"uri": _relative(finding.path)}}
        if region:
            location["region"] = region
        results.append(
            {
                "ruleId": finding.rule,
                "level": level[finding.severity],
                "message": {"text": f"{finding.message}\n\nInstead:\n{finding.recipe}"},
                "locations": [{"physicalLocation": location}],
                "properties": {"revision": finding.revision},
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "asyncmigrate", "version": version, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2)
