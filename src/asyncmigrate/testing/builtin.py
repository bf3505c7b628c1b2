"""asyncmigrate's built-in migration tests. Collected from a conftest.py with one line::

    from asyncmigrate.testing.builtin import *  # noqa: F403

Each test gets its own empty database from the ``migrator`` fixture and names every bad
revision with a readable schema diff when it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from ..api.migrator import Migrator
from .checks import (
    CheckReport,
    downgrade_leaves_no_trace,
    models_match_migrations,
    revisions_import,
    single_head,
    stairway,
)

try:
    import pytest_asyncio  # noqa: F401

    _async = pytest.mark.asyncio
except ImportError:
    _async = pytest.mark.anyio


_Test = TypeVar("_Test", bound=Callable[..., Any])


def _builtin(test: _Test) -> _Test:
    """Marks go on the function: the tests are collected from the user's conftest module."""
    return pytest.mark.migrations(_async(test))


__all__ = [
    "test_migrations_stairway",
    "test_migrations_match_models",
    "test_migrations_single_head",
    "test_migrations_leave_no_trace",
    "test_migration_files_import",
]


def _explain(report: CheckReport) -> str:
    return "\n".join([f"{report.name} failed:", *report.problems, report.detail]).strip()


@_builtin
async def test_migrations_stairway(migrator: Migrator, asyncmigrate_stairway_options: dict[str, Any]) -> None:
    report = await stairway(migrator, **asyncmigrate_stairway_options)
    lines = []
    for result in report.results:
        if result.status != "ok":
            lines.append(f"{result.revision} ({result.message}): {'; '.join(result.problems)}")
            lines += [f"    {line}" for line in result.diff]
    if report.stopped:
        lines.append(report.stopped)
    assert report.ok, "stairway failed:\n" + "\n".join(lines)


@_builtin
async def test_migrations_match_models(migrator: Migrator) -> None:
    report = await models_match_migrations(migrator)
    assert report.ok, _explain(report)


@_builtin
async def test_migrations_single_head(migrator: Migrator) -> None:
    report = await single_head(migrator)
    assert report.ok, _explain(report)


@_builtin
async def test_migrations_leave_no_trace(migrator: Migrator) -> None:
    report = await downgrade_leaves_no_trace(migrator)
    assert report.ok, _explain(report)


@_builtin
async def test_migration_files_import(migrator: Migrator) -> None:
    report = revisions_import(migrator)
    assert report.ok, _explain(report)
