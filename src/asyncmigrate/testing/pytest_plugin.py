"""The asyncmigrate pytest plugin (registered through the ``pytest11`` entry point).

Fixtures, all async-native (they run in the test's own event loop; no ``asyncio.run``):

* ``migration_database``: the URL of a new, empty database for one test. SQLite by default (a
  file in the test's tmp dir); with ``--migrations-url`` / ``asyncmigrate_url`` (ini) /
  ``ASYNCMIGRATE_TEST_URL`` naming a PostgreSQL or MySQL server, a new database there, created
  from a template and dropped afterwards.
* ``migrator``: a :class:`~asyncmigrate.Migrator` for the project, on that database.

The built-in tests (stairway, models match migrations, single head, no trace, revision files
import) run with one line in ``conftest.py``::

    from asyncmigrate.testing.builtin import *  # noqa: F403
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ..api import Migrator
from ..config import Settings, load_settings
from .scratch import create_database, drop_database

BUILTIN_MODULE = "asyncmigrate.testing.builtin"
URL_ENV_VAR = "ASYNCMIGRATE_TEST_URL"

try:  # pytest-asyncio in strict mode needs its own decorator for async fixtures
    import pytest_asyncio

    async_fixture = pytest_asyncio.fixture
except ImportError:  # anyio, or pytest-asyncio absent
    async_fixture = pytest.fixture


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncmigrate")
    group.addoption(
        "--migrations-url",
        default=None,
        help="PostgreSQL/MySQL server URL for throwaway migration test databases (default: SQLite).",
    )
    parser.addini("asyncmigrate_url", "server URL for throwaway migration test databases", default="")
    parser.addini("asyncmigrate_project", "directory of the project's pyproject.toml", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "migrations: asyncmigrate's built-in migration tests")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """A conftest.py that star-imports the built-in tests gets them collected."""
    if file_path.name != "conftest.py":
        return None
    try:
        text = file_path.read_text(encoding="utf-8")
    except OSError:
        return None
    if f"from {BUILTIN_MODULE} import" not in text:
        return None
    return pytest.Module.from_parent(parent, path=file_path)


@pytest.fixture(scope="session")
def asyncmigrate_settings(pytestconfig: pytest.Config) -> Settings:
    """The project's settings (pyproject.toml in rootdir, or the ``asyncmigrate_project`` ini)."""
    project = pytestconfig.getini("asyncmigrate_project") or str(pytestconfig.rootpath)
    return load_settings(start=Path(project))


@pytest.fixture(scope="session")
def migration_server_url(pytestconfig: pytest.Config) -> str | None:
    return (
        pytestconfig.getoption("--migrations-url")
        or pytestconfig.getini("asyncmigrate_url")
        or os.environ.get(URL_ENV_VAR)
        or None
    )


@async_fixture
async def migration_database(migration_server_url: str | None, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    if migration_server_url is None or migration_server_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    url = await create_database(migration_server_url)
    try:
        yield url
    finally:
        await drop_database(migration_server_url, url)


@async_fixture
async def migrator(asyncmigrate_settings: Settings, migration_database: str) -> Migrator:
    """A Migrator for the project on the test's own empty database."""
    return Migrator(asyncmigrate_settings.with_url(migration_database))
