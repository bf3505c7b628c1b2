"""Published projects' Alembic histories, run with plain Alembic and with asyncmigrate on fresh
databases of their own: every command must succeed or fail as Alembic does and leave the same
alembic_version and tables (tests/corpus/). One test per project, database and command.

The default run takes the projects marked ``default`` in tests/corpus/projects.py;
``ASYNCMIGRATE_CORPUS=all`` takes all of them, ``ASYNCMIGRATE_CORPUS=optuna,buildbot`` those named.
Wheels and venvs are kept in ~/.cache/asyncmigrate-corpus (``ASYNCMIGRATE_CORPUS_CACHE``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .corpus.harness import COMMANDS, ProjectResult, Unreachable, run_project
from .corpus.projects import BY_NAME, PROJECTS, Project, known_failure

pytestmark = pytest.mark.corpus


def selected() -> list[Project]:
    choice = os.environ.get("ASYNCMIGRATE_CORPUS", "").strip()
    if choice == "all":
        return PROJECTS
    if choice:
        return [BY_NAME[name.strip()] for name in choice.split(",") if name.strip()]
    return [project for project in PROJECTS if project.default]


CASES = [
    pytest.param(project, dialect, command, id=f"{project.name}-{dialect}-{command.replace(' ', '_')}")
    for project in selected()
    for dialect in project.dialects
    for command in COMMANDS
]
_RESULTS: dict[tuple[str, str], ProjectResult | Exception] = {}


def project_result(project: Project, dialect: str, workdir: Path) -> ProjectResult:
    """Both tools are run once per project and database; each command's test reads its cell."""
    key = (project.name, dialect)
    if key not in _RESULTS:
        try:
            _RESULTS[key] = run_project(project, dialect, workdir)
        except Exception as error:  # noqa: BLE001 - kept so every cell of the project reports it
            _RESULTS[key] = error
    outcome = _RESULTS[key]
    if isinstance(outcome, Unreachable):
        pytest.skip(str(outcome))
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@pytest.mark.parametrize(("project", "dialect", "command"), CASES)
def test_corpus(
    project: Project, dialect: str, command: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = project_result(project, dialect, tmp_path_factory.mktemp("corpus", numbered=True))
    cell = result.cells[command]
    if cell.verdict == "ours":
        reason = known_failure(project.name, dialect, command, cell.detail)
        if reason:
            pytest.xfail(f"{reason} (now: {cell.detail})")
        pytest.fail(f"{project.name} on {dialect}: `{command}` fails in asyncmigrate only: {cell.detail}")
    assert cell.verdict in ("works", "history"), cell
