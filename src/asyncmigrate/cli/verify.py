"""``verify`` (the applied history against the files) and ``check-heads``."""

from __future__ import annotations

import contextlib
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from ..output.formats import format_option, render
from ..output.report import Finding, Report, Rule, Severity
from .base import (
    State,
    cli,
    escape,
    run_async,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    from ..tables.history import Problem

#: What each kind of ``verify`` finding means, for SARIF's rule list.
VERIFY_RULES = [
    Rule("edited", "an applied revision's file changed since it was applied"),
    Rule("missing", "an applied revision's file is gone"),
    Rule("out-of-order", "a revision counts as applied but never ran"),
    Rule("multiple-heads", "the scripts have more than one head without a merge"),
    Rule("not-checked", "what could not be checked (no history table, no checksum)", Severity.WARNING),
]


def _paths(state: State, found: list[Problem]) -> dict[str, str]:
    """The file of each revision a problem names, so that annotations point at it: from the
    cached graph, else from Alembic. A revision whose file is gone keeps no path."""
    from ..api import reading

    revisions = {problem.revision for problem in found if problem.revision}
    if not revisions:
        return {}
    paths = {}
    try:
        graph = reading.graph(state.settings())
        source: Any = graph if graph is not None else state.migrator(database=False).script_directory()
        for revision in revisions:
            with contextlib.suppress(Exception):  # gone, or no longer a single revision
                node = source.get_revision(revision)
                if node is not None:
                    paths[revision] = str(node.path)
    except Exception:  # noqa: BLE001  (the findings stand without their files)
        return paths
    return paths


def problems_report(command: str, found: list[Problem], paths: dict[str, str]) -> Report:
    """A finding per problem, each with its revision's file when there is one."""
    from ..tables.history import NOT_CHECKED

    return Report(
        command,
        [
            Finding(
                problem.kind,
                Severity.WARNING if problem.kind == NOT_CHECKED else Severity.ERROR,
                problem.message,
                revision=problem.revision,
                path=paths.get(problem.revision) if problem.revision else None,
            )
            for problem in found
        ],
        rules=VERIFY_RULES,
    )


@cli.command()
@click.option(
    "--accept",
    "accept",
    multiple=True,
    metavar="REV",
    help="Acknowledge that REV's file is gone or was edited on purpose (recorded in the history).",
)
@format_option(located=True)
@run_async
async def verify(state: State, accept: tuple[str, ...], output_format: str) -> None:
    """Check the applied history: edited or deleted revision files, revisions applied out of
    order, unmerged heads. Exit 1 if anything is found, 2 if nothing was found but some checks
    could not be made (no history table, applied revisions without a checksum)."""
    from ..tables.history import NOT_CHECKED

    accepted = list(await state.migrator().accept(accept)) if accept else []
    try:
        found = await state.migrator().verify()
    except BaseException:
        _print_accepted(accepted, stderr)  # recorded already: say so before the failure
        raise
    report = problems_report("verify", found, _paths(state, found))
    report.fields["accepted"] = [
        {"kind": item.kind, "revision": item.revision, "message": item.message} for item in accepted
    ]
    report.text = partial(_print_verify, accepted, found)
    render(output_format, report, stdout)
    if found:
        # 1: something is wrong; 2: nothing found, but not everything could be checked.
        raise click.exceptions.Exit(1 if any(problem.kind != NOT_CHECKED for problem in found) else 2)


def _print_accepted(accepted: list[Problem], out: Any) -> None:
    for problem in accepted:
        out.print(f"Accepted {problem.kind} {escape(str(problem.revision))}: {escape(problem.message)}")


def _print_verify(accepted: list[Problem], found: list[Problem], out: Any) -> None:
    from ..tables.history import NOT_CHECKED

    _print_accepted(accepted, out)
    if not found:
        out.print("History verified: every applied revision matches its file.")
        return
    for problem in found:
        if problem.kind != NOT_CHECKED:
            out.print(f"[red]{problem.kind}:[/red] {escape(problem.message)}")
    for gap in found:
        if gap.kind == NOT_CHECKED:
            out.print(f"[yellow]not verified:[/yellow] {escape(gap.message)}")


@cli.command("check-heads")
@format_option(located=True)
@run_async
async def check_heads(state: State, output_format: str) -> None:
    """Exit 1 when the scripts have more than one head without a merge (for CI)."""
    problems = await state.migrator(database=False).check_heads()
    report = problems_report("check-heads", problems, _paths(state, problems))
    report.text = partial(_print_heads, problems)
    render(output_format, report, stdout)
    if problems:
        raise click.exceptions.Exit(1)


def _print_heads(problems: list[Problem], out: Any) -> None:
    """One line on stdout when all is well; each problem on stderr, as an error."""
    if not problems:
        out.print("One head: no unmerged branches.")
    for problem in problems:
        stderr.print(f"[bold red]error:[/bold red] {escape(problem.message)}")
