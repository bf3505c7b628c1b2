"""``test``: the migration checks on a throwaway database (stairway, models, heads, no-trace,
imports, all)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from ..errors import AsyncMigrateError
from ..output.formats import format_option, render
from ..output.report import Finding, Report, Severity
from .base import (
    State,
    cli,
    escape,
    run_async,
    stdout,
)

if TYPE_CHECKING:
    from ..api.migrator import Migrator
    from ..testing.checks import CheckReport
    from ..testing.stairway import StairwayReport


@cli.group("test")
def test_group() -> None:
    """Test the migrations on a throwaway database (SQLite file, or a new database on the
    configured server): stairway, models, heads, no-trace, imports, all."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # hundreds of steps: report, not log


#: The checks find revisions and schemas, not lines in files: no github or sarif.
TEST_FORMAT = format_option(located=False)


async def _on_scratch(state: State, check: Callable[[Migrator], Any]) -> Any:
    from ..api.migrator import Migrator
    from ..testing.scratch import scratch_database

    settings = state.settings()
    server = state.migrator().runner  # says (or refuses) the embedded default like any command
    await server.ensure_url()  # a project's own env.py may decide which server that is
    async with scratch_database(server.url, connect_timeout=settings.connect_timeout) as url:
        return await check(Migrator(settings.with_url(url)))


def stairway_report(report: StairwayReport) -> Report:
    """Each revision the stairway flagged, warned about or skipped, and why a walk stopped;
    ``--format json`` prints the stairway's own document, as it always has."""
    from ..testing.stairway import DOES_NOT_BUILD, FAILED, SKIPPED, WARNING

    severity = {
        FAILED: Severity.ERROR,
        DOES_NOT_BUILD: Severity.WARNING,
        WARNING: Severity.WARNING,
        SKIPPED: Severity.ADVISORY,
    }
    findings = [
        Finding(
            "stairway",
            severity[result.status],
            "; ".join(result.problems),
            revision=result.revision,
            extra={"status": result.status, "diff": result.diff},
        )
        for result in report.results
        if result.status in severity and result.problems
    ]
    if report.stopped and not any(result.status == DOES_NOT_BUILD for result in report.results):
        findings.append(Finding("stairway", Severity.WARNING, report.stopped))
    return Report("test stairway", findings, document=report.as_dict(), text=partial(_print_stairway, report))


def _print_stairway(report: StairwayReport, out: Any) -> None:
    from rich.table import Table

    table = Table("revision", "message", "result", "what failed", box=None, pad_edge=False)
    for result in report.results:
        colour = {"ok": "green", "failed": "red"}.get(result.status, "yellow")  # warning, skipped
        table.add_row(
            result.revision,
            escape(result.message),
            f"[{colour}]{result.status}[/{colour}]",
            escape("; ".join(result.problems)),
        )
    out.print(table)
    for result in report.failed:
        if result.diff:
            out.print(f"\n[bold]{result.revision}[/bold] ({escape(result.message)}):")
            for line in result.diff:
                out.print(f"  {escape(line)}")
    if report.stopped:
        out.print(f"\n[yellow]{escape(report.stopped)}[/yellow]")
    out.print(f"{report.walked} of {report.total} revisions walked, {len(report.failed)} flagged")


def _one_start(from_models: bool, base_models: str | None) -> None:
    if from_models and base_models:
        raise click.UsageError(
            "--from-models starts at head, --base-models before the first revision: not both"
        )


async def _walk(
    state: State, from_models: bool, base_models: str | None, minimum_downgrade_revision: str | None
) -> StairwayReport:
    from ..testing import stairway

    _one_start(from_models, base_models)
    check = partial(
        stairway,
        from_models=from_models,
        minimum_downgrade_revision=minimum_downgrade_revision,
        base_models=base_models,
    )
    report: StairwayReport = await _on_scratch(state, check)
    return report


def stairway_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where the stairway starts and how far down it goes: ``test stairway`` and ``test all``."""
    command = click.option(
        "--minimum-downgrade-revision",
        metavar="REV",
        help="Do not test the downgrade of REV nor of the revisions below it.",
    )(command)
    command = click.option(
        "--base-models",
        metavar="MODULE:ATTR",
        help="Make these tables with create_all before the first revision, then walk up: for a project"
        " that makes its initial tables that way and runs the whole history on them.",
    )(command)
    command = click.option(
        "--from-models",
        is_flag=True,
        help="Start at head from the models (create_all, stamp head) and walk down: for a project"
        " that makes a new database that way. The models: [tool.asyncmigrate] models, else the"
        " target_metadata its env.py passes to context.configure.",
    )(command)
    return command


@test_group.command("stairway")
@TEST_FORMAT
@stairway_options
@run_async
async def test_stairway(
    state: State,
    output_format: str,
    from_models: bool,
    base_models: str | None,
    minimum_downgrade_revision: str | None,
) -> None:
    """For every revision: upgrade, step down exactly it, compare the schema, upgrade again.

    \b
    Exit 0: every revision walked, none flagged.
    Exit 1: a revision's downgrade does not restore the schema, or raises.
    Exit 2: nothing flagged, but the walk stopped early: the history does not build from an
            empty database (try --from-models or --base-models), or the models do not make
            a database.
    """
    report = await _walk(state, from_models, base_models, minimum_downgrade_revision)
    render(output_format, stairway_report(report), stdout)
    raise click.exceptions.Exit(report.exit_code)


async def _run_checks(state: State, names: list[str]) -> list[CheckReport]:
    from ..api.migrator import Migrator
    from ..testing import checks

    async def run(name: str) -> checks.CheckReport:
        try:
            return await run_one(name)
        except AsyncMigrateError as exc:
            return checks.CheckReport(name, [str(exc)])

    async def run_one(name: str) -> checks.CheckReport:
        if name == "heads":
            return await checks.single_head(Migrator(state.settings()))
        if name == "imports":
            return checks.revisions_import(Migrator(state.settings()))
        function = {"models": checks.models_match_migrations, "no-trace": checks.downgrade_leaves_no_trace}
        return await _on_scratch(state, function[name])

    return [await run(name) for name in names]


def checks_report(command: str, reports: list[CheckReport]) -> Report:
    """One finding per problem a check found; ``--format json`` prints the list of checks
    (name, ok, problems), as it always has."""
    return Report(
        command,
        [Finding(report.name, Severity.ERROR, problem) for report in reports for problem in report.problems],
        document=[{"check": r.name, "ok": r.ok, "problems": r.problems} for r in reports],
        text=partial(_print_checks, reports),
    )


def _print_checks(reports: list[CheckReport], out: Any) -> None:
    for report in reports:
        mark = "[green]ok[/green]" if report.ok else "[red]failed[/red]"
        out.print(f"{report.name}: {mark}")
        for problem in report.problems:
            out.print(f"  {escape(problem)}")
        if report.detail and not report.ok:
            out.print(escape(report.detail))


for _name, _help in (
    ("models", "Upgrade an empty database to head; autogenerate must then find nothing."),
    ("heads", "The scripts must have a single head."),
    ("no-trace", "Upgrade to head then downgrade to base: the schema must be empty again."),
    ("imports", "Every revision file imports and has the attributes Alembic needs."),
):

    def _make(name: str) -> Callable[..., Any]:
        async def command(state: State, output_format: str) -> None:
            reports = await _run_checks(state, [name])
            render(output_format, checks_report(f"test {name}", reports), stdout)
            if not all(report.ok for report in reports):
                raise click.exceptions.Exit(1)

        return command

    test_group.command(_name, help=_help)(TEST_FORMAT(run_async(_make(_name))))


@test_group.command("all")
@TEST_FORMAT
@stairway_options
@run_async
async def test_all(
    state: State,
    output_format: str,
    from_models: bool,
    base_models: str | None,
    minimum_downgrade_revision: str | None,
) -> None:
    """imports, heads, models, no-trace, then the stairway (with the stairway's options).

    With --format json, one document: {"checks": [...], "stairway": {...}}, each what its own
    command prints."""
    _one_start(from_models, base_models)  # before the checks: refuse at once
    reports = await _run_checks(state, ["imports", "heads", "models", "no-trace"])
    walk = await _walk(state, from_models, base_models, minimum_downgrade_revision)
    checks, stairs = checks_report("test all", reports), stairway_report(walk)

    def text(out: Any) -> None:
        _print_checks(reports, out)
        _print_stairway(walk, out)

    render(
        output_format,
        Report(
            "test all",
            checks.findings + stairs.findings,
            document={"checks": checks.document, "stairway": stairs.document},
            text=text,
        ),
        stdout,
    )
    if not all(report.ok for report in reports) or not walk.ok:
        raise click.exceptions.Exit(1)
