"""``lint``: dangerous DDL, with ``--explain`` and ``--list-rules``."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

import click

from ..output.formats import format_option, render
from . import process
from .base import (
    CommandFailed,
    State,
    cli,
    escape,
    run_async,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    pass


async def lint_report(state: State, request: Any) -> Any:
    """Lint through the Migrator; its notes (models not loaded, server silent) go to stderr."""
    # what the revisions (or the app code they import) print goes to stderr: stdout may carry
    # machine output. Only here: a Migrator awaited in an app leaves the app's sys.stdout alone.
    with contextlib.redirect_stdout(sys.stderr):
        report = await state.migrator(database=False).lint(request)
    if not state.quiet:
        for note in report.notes:
            stderr.print(f"[yellow]warning:[/yellow] {escape(note)}")
    return report


@cli.command()
@click.argument("rev_range", required=False)
@click.option("--since-ref", help="Lint only the revision files added or changed since this git ref.")
@click.option("--downgrade", is_flag=True, help="Lint downgrade() too.")
@format_option(located=True)
@click.option("--dialect", type=click.Choice(["postgresql", "mysql", "mariadb", "sqlite"]))
@click.option("--pg-version", help="PostgreSQL version to judge for (default: live server, config, newest).")
@click.option("--mysql-version", help="MySQL/MariaDB version to judge for.")
@click.option("--no-advisory", is_flag=True, help="Hide advisory notes in text output.")
@click.option("--list-rules", is_flag=True, help="List the rules (with --format json: as JSON) and exit.")
@click.option("--explain", "explain_rule", metavar="RULE", help="Print a rule's documentation and exit.")
@run_async
async def lint(
    state: State,
    rev_range: str | None,
    since_ref: str | None,
    downgrade: bool,
    output_format: str,
    dialect: str | None,
    pg_version: str | None,
    mysql_version: str | None,
    no_advisory: bool,
    list_rules: bool,
    explain_rule: str | None,
) -> None:
    """Check revisions for dangerous DDL (RANGE like abc123:head; default: all).

    Exit 1 when an error-level finding remains."""
    from ..lint import output
    from ..lint.model import Severity
    from ..lint.project import LintRequest

    if list_rules or explain_rule is not None:
        _lint_rule_docs(explain_rule, output_format)
        return
    process.app_code_ran = True
    request = LintRequest(rev_range, since_ref, downgrade, dialect, pg_version, mysql_version)
    report = await lint_report(state, request)
    render(output_format, output.to_report(report, show_advisory=not no_advisory), stdout)
    if any(f.severity is Severity.ERROR for f in report.findings):
        raise click.exceptions.Exit(1)


def _lint_rule_docs(rule_id: str | None, output_format: str) -> None:
    """``lint --explain RULE`` (Markdown, rendered on a terminal) or ``lint --list-rules``."""
    from ..lint import docs

    if rule_id is None:
        if output_format in ("github", "sarif"):  # annotations of findings, not a catalogue
            raise click.UsageError(f"--list-rules prints text or json, not {output_format}")
        stdout.out(docs.rules_json() if output_format == "json" else "\n".join(docs.rules_table()))
        return
    try:
        text = docs.explain(docs.find_rule(rule_id))
    except docs.UnknownRule as unknown:
        failed = CommandFailed(str(unknown))
        failed.exit_code = 2  # type: ignore[misc]  # click types it ClassVar; reads the instance's
        raise failed from None
    if stdout.is_terminal:
        from rich.markdown import Markdown

        stdout.print(Markdown(text), soft_wrap=False)
    else:
        stdout.out(text.rstrip("\n"))
