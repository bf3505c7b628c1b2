"""``test``: the migration checks on a throwaway database (stairway, models, heads, no-trace,
imports, all)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..errors import AsyncMigrateError
from .base import (
    State,
    cli,
    escape,
    run_async,
    stdout,
)

if TYPE_CHECKING:
    from ..api.migrator import Migrator


@cli.group("test")
def test_group() -> None:
    """Test the migrations on a throwaway database (SQLite file, or a new database on the
    configured server): stairway, models, heads, no-trace, imports, all."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # hundreds of steps: report, not log


TEST_FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")


async def _on_scratch(state: State, check: Callable[[Migrator], Any]) -> Any:
    from ..api.migrator import Migrator
    from ..testing.scratch import scratch_database

    settings = state.settings()
    server = state.migrator().runner  # says (or refuses) the embedded default like any command
    await server.ensure_url()  # a project's own env.py may decide which server that is
    async with scratch_database(server.url, connect_timeout=settings.connect_timeout) as url:
        return await check(Migrator(settings.with_url(url)))


def _print_stairway(report: Any) -> None:
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
    stdout.print(table)
    for result in report.failed:
        if result.diff:
            stdout.print(f"\n[bold]{result.revision}[/bold] ({escape(result.message)}):")
            for line in result.diff:
                stdout.print(f"  {escape(line)}")
    if report.stopped:
        stdout.print(f"\n[yellow]{escape(report.stopped)}[/yellow]")
    stdout.print(f"{report.walked} of {report.total} revisions walked, {len(report.failed)} flagged")


@test_group.command("stairway")
@TEST_FORMAT
@click.option(
    "--from-models",
    is_flag=True,
    help="Start at head from the models (create_all, stamp head) and walk down: for a project"
    " that makes a new database that way. The models: [tool.asyncmigrate] models, else the"
    " target_metadata its env.py passes to context.configure.",
)
@click.option(
    "--base-models",
    metavar="MODULE:ATTR",
    help="Make these tables with create_all before the first revision, then walk up: for a project"
    " that makes its initial tables that way and runs the whole history on them.",
)
@click.option(
    "--minimum-downgrade-revision",
    metavar="REV",
    help="Do not test the downgrade of REV nor of the revisions below it.",
)
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
    from functools import partial

    from ..testing import stairway

    if from_models and base_models:
        raise click.UsageError(
            "--from-models starts at head, --base-models before the first revision: not both"
        )
    check = partial(
        stairway,
        from_models=from_models,
        minimum_downgrade_revision=minimum_downgrade_revision,
        base_models=base_models,
    )
    report = await _on_scratch(state, check)
    if output_format == "json":
        stdout.out(json.dumps(report.as_dict(), indent=2))
    else:
        _print_stairway(report)
    raise click.exceptions.Exit(report.exit_code)


async def _run_checks(state: State, names: list[str], output_format: str) -> None:
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

    reports = [await run(name) for name in names]
    if output_format == "json":
        stdout.out(
            json.dumps([{"check": r.name, "ok": r.ok, "problems": r.problems} for r in reports], indent=2)
        )
    else:
        for report in reports:
            mark = "[green]ok[/green]" if report.ok else "[red]failed[/red]"
            stdout.print(f"{report.name}: {mark}")
            for problem in report.problems:
                stdout.print(f"  {escape(problem)}")
            if report.detail and not report.ok:
                stdout.print(escape(report.detail))
    if not all(r.ok for r in reports):
        raise click.exceptions.Exit(1)


for _name, _help in (
    ("models", "Upgrade an empty database to head; autogenerate must then find nothing."),
    ("heads", "The scripts must have a single head."),
    ("no-trace", "Upgrade to head then downgrade to base: the schema must be empty again."),
    ("imports", "Every revision file imports and has the attributes Alembic needs."),
):

    def _make(name: str) -> Callable[..., Any]:
        async def command(state: State, output_format: str) -> None:
            await _run_checks(state, [name], output_format)

        return command

    test_group.command(_name, help=_help)(TEST_FORMAT(run_async(_make(_name))))


@test_group.command("all")
@TEST_FORMAT
@run_async
async def test_all(state: State, output_format: str) -> None:
    """imports, heads, models, no-trace, then the stairway."""
    failed = False
    try:
        await _run_checks(state, ["imports", "heads", "models", "no-trace"], output_format)
    except click.exceptions.Exit:
        failed = True
    from ..testing import stairway

    report = await _on_scratch(state, stairway)
    if output_format == "json":
        stdout.out(json.dumps(report.as_dict(), indent=2))
    else:
        _print_stairway(report)
    if failed or not report.ok:
        raise click.exceptions.Exit(1)
