"""The asyncmigrate pytest plugin (registered through the ``pytest11`` entry point).

Fixtures, all async-native (they run in the test's own event loop; no ``asyncio.run``):

* ``migration_database``: the URL of a new, empty database for one test. SQLite by default (a
  file in the test's tmp dir); with ``--migrations-url`` / ``asyncmigrate_url`` (ini) /
  ``ASYNCMIGRATE_TEST_URL`` naming a PostgreSQL or MySQL server, a new database there, created
  from a template and dropped afterwards.
* ``migrated_database``: the same, with every migration applied: cloned from a template database
  migrated once per session, so data tests do not replay the history each time.
* ``migrator``: a :class:`~asyncmigrate.Migrator` for the project, on ``migration_database``.

The built-in tests (stairway, models match migrations, single head, no trace, revision files
import) run with one line in ``conftest.py``::

    from asyncmigrate.testing.builtin import *  # noqa: F403
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from ..api.migrator import Migrator
from ..config import Settings, load_settings
from ..dialects import for_scheme
from .scratch import create_database, drop_database

BUILTIN_MODULE = "asyncmigrate.testing.builtin"
URL_ENV_VAR = "ASYNCMIGRATE_TEST_URL"

async_fixture: Callable[..., Any]
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
    # the stairway's options, as `asyncmigrate test stairway` takes them
    parser.addini(
        "asyncmigrate_stairway_from_models",
        "stairway: start at head from the models (create_all, stamp) and walk down",
        type="bool",
        default=False,
    )
    parser.addini(
        "asyncmigrate_stairway_base_models",
        "stairway: MODULE:ATTR tables made with create_all before the first revision",
        default="",
    )
    parser.addini(
        "asyncmigrate_minimum_downgrade_revision",
        "stairway: do not test the downgrade of this revision nor of those below it",
        default="",
    )


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
def asyncmigrate_stairway_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """The keywords of :func:`asyncmigrate.testing.stairway` from the ini options."""
    return {
        "from_models": bool(pytestconfig.getini("asyncmigrate_stairway_from_models")),
        "base_models": pytestconfig.getini("asyncmigrate_stairway_base_models") or None,
        "minimum_downgrade_revision": pytestconfig.getini("asyncmigrate_minimum_downgrade_revision") or None,
    }


@pytest.fixture(scope="session")
def migration_server_url(pytestconfig: pytest.Config) -> str | None:
    return (
        pytestconfig.getoption("--migrations-url")
        or pytestconfig.getini("asyncmigrate_url")
        or os.environ.get(URL_ENV_VAR)
        or None
    )


class TemplateDatabases:
    """Template databases made once per session, cloned for each test (fast on PostgreSQL:
    ``CREATE DATABASE ... TEMPLATE``; on SQLite a file copy)."""

    def __init__(self, server_url: str | None, directory: Path) -> None:
        self.server_url = server_url
        self.directory = directory
        self._templates: dict[str, str] = {}

    @property
    def on_sqlite(self) -> bool:
        return self.server_url is None or for_scheme(self.server_url).embedded

    def _sqlite_url(self, path: Path, settings: Settings) -> str:
        """An SQLite URL with the driver the project uses (a sync env.py of its own needs a sync
        one), else aiosqlite."""
        url = self.server_url or settings.url
        drivername = make_url(url).drivername if for_scheme(url).embedded else "sqlite+aiosqlite"
        return f"{drivername}:///{path}"

    async def template(self, kind: str, settings: Settings) -> str:
        """The URL of the template: "empty", or "head" (every migration applied)."""
        if kind not in self._templates:
            if self.on_sqlite:
                url = self._sqlite_url(self.directory / f"template-{kind}.db", settings)
            else:
                url = await create_database(self.server_url or "")
            if kind == "head":
                await Migrator(settings.with_url(url)).upgrade("heads", record_history=False)
            self._templates[kind] = url
        return self._templates[kind]

    async def clone(self, kind: str, settings: Settings, tmp_path: Path) -> str:
        template = await self.template(kind, settings)
        if self.on_sqlite:
            target = tmp_path / f"migrations-{kind}.db"
            source = Path(make_url(template).database or "")
            if source.exists():
                shutil.copyfile(source, target)
            return self._sqlite_url(target, settings)
        return await create_database(self.server_url or "", template=make_url(template).database)

    async def drop(self, url: str) -> None:
        if not self.on_sqlite:
            await drop_database(self.server_url or "", url)

    def drop_templates(self) -> None:
        """At the end of the session, outside any event loop."""
        if self.on_sqlite or not self._templates:
            return
        try:
            asyncio.get_running_loop()
            return  # never nest a loop; the databases are named asyncmigrate_test_*
        except RuntimeError:
            pass

        async def drop_all() -> None:
            for url in self._templates.values():
                await drop_database(self.server_url or "", url)

        asyncio.run(drop_all())


@pytest.fixture(scope="session")
def migration_templates(
    migration_server_url: str | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TemplateDatabases]:
    templates = TemplateDatabases(migration_server_url, tmp_path_factory.mktemp("asyncmigrate"))
    yield templates
    templates.drop_templates()


async def _database_from(
    kind: str, templates: TemplateDatabases, settings: Settings, tmp_path: Path
) -> AsyncIterator[str]:
    url = await templates.clone(kind, settings, tmp_path)
    try:
        yield url
    finally:
        await templates.drop(url)


@async_fixture
async def migration_database(
    migration_templates: TemplateDatabases, asyncmigrate_settings: Settings, tmp_path: Path
) -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    async for url in _database_from("empty", migration_templates, asyncmigrate_settings, tmp_path):
        yield url


@async_fixture
async def migrated_database(
    migration_templates: TemplateDatabases, asyncmigrate_settings: Settings, tmp_path: Path
) -> AsyncIterator[str]:
    """A new database with every migration applied, cloned from a template migrated once."""
    async for url in _database_from("head", migration_templates, asyncmigrate_settings, tmp_path):
        yield url


@async_fixture
async def migrator(asyncmigrate_settings: Settings, migration_database: str) -> Migrator:
    """A Migrator for the project on the test's own empty database."""
    return Migrator(asyncmigrate_settings.with_url(migration_database))
