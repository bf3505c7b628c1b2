"""The output formats: one renderer each, registered by name; every ``--format`` lists them.

A renderer reads a :class:`~asyncmigrate.output.report.Report` and writes it to the console it
is given. Adding a format is one ``@register`` function here: each command's ``--format``
(:func:`format_option`) offers the registry as it is when the command line is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import click

from .report import Report, Severity, relative


class Renderer(Protocol):
    """Writes ``report`` to ``out`` (the command line's rich console for standard output)."""

    def __call__(self, report: Report, out: Any) -> None: ...


@dataclass(frozen=True)
class Format:
    name: str
    render: Renderer
    #: Only for findings that point at a file (annotations, code scanning): a command whose
    #: findings have no file refuses it at parse time rather than print something useless.
    needs_locations: bool = False


FORMATS: dict[str, Format] = {}
#: Other names a format answers to: ``human`` is what ``lint --format`` called text before.
ALIASES = {"human": "text"}


def register(name: str, *, needs_locations: bool = False) -> Callable[[Renderer], Renderer]:
    """Add a format under ``name`` (a later registration of the same name replaces it)."""

    def add(render: Renderer) -> Renderer:
        FORMATS[name] = Format(name, render, needs_locations)
        return render

    return add


def render(name: str, report: Report, out: Any) -> None:
    """Write ``report`` in the format ``--format`` named (an alias counts as its format)."""
    FORMATS[ALIASES.get(name, name)].render(report, out)


class FormatChoice(click.Choice):
    """The registered formats a command can use, read from the registry on each use."""

    def __init__(self, *, located: bool) -> None:
        self.located = located
        super().__init__([])

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(name for name, known in FORMATS.items() if self.located or not known.needs_locations)

    @choices.setter
    def choices(self, value: Any) -> None:
        """The registry is the list: what click's constructor sets is ignored."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        name = ALIASES.get(value, value)
        known = FORMATS.get(name)
        if known is not None and known.needs_locations and not self.located:
            command = ctx.command_path if ctx is not None else "this command"
            self.fail(
                f"{name} annotates files and lines; what {command} finds has none"
                f" (use {' or '.join(self.choices)})",
                param,
                ctx,
            )
        return super().convert(name, param, ctx)


def format_option(*, located: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The one ``--format`` option; ``located``: the command's findings name a file."""
    return click.option(
        "--format",
        "output_format",
        type=FormatChoice(located=located),
        default="text",
        show_default=True,
        help="Output format (human: the same as text).",
    )


def _body(message: str, detail: str) -> str:
    return f"{message}\n\n{detail}" if detail else message


_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.ADVISORY: "cyan"}


@register("text")
def render_text(report: Report, out: Any) -> None:
    """The command's own text; a command without one gets a line per finding."""
    if report.text is not None:
        report.text(out)
        return
    from rich.markup import escape

    for finding in report.findings:
        where = " ".join(part for part in (finding.revision, finding.path) if part)
        where = f" {escape(where)}:" if where else ":"
        out.print(f"[{_STYLE[finding.severity]}]{finding.rule}[/]{where} {escape(finding.message)}")
    if not report.findings:
        out.print(f"{report.command}: nothing found")


@register("json")
def render_json(report: Report, out: Any) -> None:
    document = report.as_dict() if report.document is None else report.document
    out.out(json.dumps(document, indent=2))


def _escape_github(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


@register("github", needs_locations=True)
def render_github(report: Report, out: Any) -> None:
    """``::error file=...,line=...,title=rule::message`` lines for GitHub Actions."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.ADVISORY: "notice"}
    lines = []
    for finding in report.findings:
        props = []
        if finding.path:
            props.append(f"file={_escape_github(relative(finding.path), property_value=True)}")
        if finding.line:
            props.append(f"line={finding.line}")
        props.append(f"title={_escape_github(finding.rule, property_value=True)}")
        body = _escape_github(_body(finding.message, finding.detail))
        lines.append(f"::{level[finding.severity]} {','.join(props)}::{body}")
    out.out("\n".join(lines))


@register("sarif", needs_locations=True)
def render_sarif(report: Report, out: Any) -> None:
    """A SARIF 2.1.0 log, the format code-scanning dashboards ingest."""
    from .. import __version__

    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.ADVISORY: "note"}
    rules = [
        {
            "id": rule.id,
            "shortDescription": {"text": rule.summary},
            "defaultConfiguration": {"level": level[rule.severity]},
        }
        for rule in report.rules_hit()
    ]
    results = []
    for finding in report.findings:
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "level": level[finding.severity],
            "message": {"text": _body(finding.message, finding.detail)},
        }
        if finding.path or finding.line:
            location: dict[str, Any] = {"artifactLocation": {"uri": relative(finding.path)}}
            if finding.line:
                location["region"] = {"startLine": finding.line}
            result["locations"] = [{"physicalLocation": location}]
        result["properties"] = {"revision": finding.revision}
        results.append(result)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "asyncmigrate", "version": __version__, "rules": rules}},
                "results": results,
            }
        ],
    }
    out.out(json.dumps(log, indent=2))
