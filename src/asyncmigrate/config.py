"""Settings from ``[tool.asyncmigrate]`` in pyproject.toml, an existing ``alembic.ini``, or the
environment, gathered into one typed object.

Precedence for the database URL: ``--url`` on the command line, then ``url`` in the config file
(``${VAR}`` references are expanded from the environment, so a password never has to be
committed), then the ``DATABASE_URL`` environment variable, then an embedded SQLite file next to
pyproject.toml. The command line uses that last one without a terminal (a deploy, CI) only when
the project says so (``embedded_sqlite = true``): a lost ``DATABASE_URL`` must not migrate a
fresh file and report success.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

URL_ENV_VAR = "DATABASE_URL"
DEFAULT_SCRIPT_LOCATION = "migrations"

#: Where the URL came from, for messages ("using the embedded SQLite database ...").
URL_FROM_OPTION = "--url"
URL_FROM_CONFIG = "config"
URL_FROM_ENV = URL_ENV_VAR
URL_EMBEDDED = "embedded"

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about the project, resolved to absolute paths."""

    project_dir: Path
    script_location: Path
    url: str
    url_source: str
    models: tuple[str, ...] = ()
    metadata: str | None = None
    version_table: str = "alembic_version"
    version_table_schema: str | None = None
    #: None means "on for SQLite, off elsewhere".
    render_as_batch: bool | None = None
    compare_server_default: bool = True
    transaction_per_migration: bool = True
    #: Seconds to wait for another migrator's apply lock (None: forever, 0: fail at once).
    lock_wait: float | None = 300.0
    #: Per-revision lock_timeout, in seconds (0: off).
    lock_timeout: float = 5.0
    #: Per-revision statement_timeout, in seconds (0: off).
    statement_timeout: float = 0.0
    #: Tries per revision when a statement fails on a lock timeout.
    attempts: int = 3
    #: Seconds to wait for the server to accept a connection and answer (0: the driver's own).
    connect_timeout: float = 10.0
    #: The project chose the embedded SQLite file as its database when no URL is set.
    embedded_sqlite: bool = False
    #: Record every applied revision (checksum, when, where) in this table.
    history_table: str = "asyncmigrate_history"
    pyproject: Path | None = None
    #: Set when the project is a plain Alembic project driven through its own alembic.ini.
    alembic_ini: Path | None = None
    #: ``[tool.asyncmigrate.lint]`` as written; read by the linter.
    lint: dict[str, Any] = field(default_factory=dict)
    #: Keys in [tool.asyncmigrate] that mean nothing to us (typos, usually).
    unknown_keys: tuple[str, ...] = ()

    @property
    def env_py(self) -> Path:
        return self.script_location / "env.py"

    def with_url(self, url: str) -> Settings:
        return replace(self, url=url, url_source=URL_FROM_OPTION)


def find_project_file(start: Path) -> Path | None:
    """The nearest pyproject.toml or alembic.ini at or above ``start``.

    A pyproject.toml with ``[tool.asyncmigrate]`` wins; a bare alembic.ini in the same
    directory comes next; a pyproject.toml without our table is taken last.
    """
    for directory in (start, *start.parents):
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            data = _read_toml(pyproject)
            tool = data.get("tool", {})
            if "asyncmigrate" in tool:
                return pyproject
            ini = directory / "alembic.ini"
            if ini.is_file():
                return ini
            return pyproject
        ini = directory / "alembic.ini"
        if ini.is_file():
            return ini
    return None


def load_settings(
    *,
    config_file: str | os.PathLike[str] | None = None,
    start: str | os.PathLike[str] | None = None,
    url: str | None = None,
) -> Settings:
    """Load the project's settings; ``url`` (from ``--url``) overrides everything else."""
    path: Path | None
    if config_file is not None:
        path = Path(config_file).resolve()
        if not path.is_file():
            raise ConfigError(f"config file not found: {config_file}")
    else:
        path = find_project_file(Path(start or os.getcwd()).resolve())
    if path is None:
        settings = _from_table(Path(start or os.getcwd()).resolve(), None, {}, {})
    elif path.suffix == ".toml":
        data = _read_toml(path)
        tool = data.get("tool", {})
        settings = _from_table(
            path.parent, path, tool.get("asyncmigrate", {}), data, alembic_table=tool.get("alembic")
        )
    else:
        settings = _from_alembic_ini(path)
    if url:
        settings = settings.with_url(url)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def expand_env(value: str) -> str:
    """Replace ``${VAR}`` with the environment's value; a missing variable is an error."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"the database URL refers to ${{{name}}}, which is not set")
        return os.environ[name]

    return _ENV_REFERENCE.sub(substitute, value)


def embedded_url(project_dir: Path, name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "app"
    return f"sqlite+aiosqlite:///{(project_dir / f'{safe}.db').as_posix()}"


def _resolve_url(configured: str | None, project_dir: Path, name: str) -> tuple[str, str]:
    if configured:
        return expand_env(configured), URL_FROM_CONFIG
    if os.environ.get(URL_ENV_VAR):
        return os.environ[URL_ENV_VAR], URL_FROM_ENV
    return embedded_url(project_dir, name), URL_EMBEDDED


def _as_models(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfigError("[tool.asyncmigrate] models must be a module name or a list of them")


_KNOWN_KEYS = {
    "lock_wait",
    "lock_timeout",
    "statement_timeout",
    "connect_timeout",
    "embedded_sqlite",
    "attempts",
    "history_table",
    "models",
    "metadata",
    "url",
    "script_location",
    "version_table",
    "version_table_schema",
    "render_as_batch",
    "compare_server_default",
    "transaction_per_migration",
    "lint",
}


def parse_seconds(value: Any, name: str) -> float:
    """``5``, ``2.5``, ``"5s"``, ``"500ms"``, ``"2min"`` -> seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|min)?\s*", str(value))
        if not match:
            raise ConfigError(f"{name} must be a number of seconds (or like '500ms', '5s'), got {value!r}")
        seconds = float(match.group(1)) * {"ms": 0.001, "s": 1.0, "min": 60.0, None: 1.0}[match.group(2)]
    if seconds < 0:
        raise ConfigError(f"{name} cannot be negative")
    return seconds


def _safety_options(table: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "lock_wait" in table:
        options["lock_wait"] = parse_seconds(table["lock_wait"], "lock_wait")
    for name in ("lock_timeout", "statement_timeout", "connect_timeout"):
        if name in table:
            options[name] = parse_seconds(table[name], name)
    if "attempts" in table:
        attempts = table["attempts"]
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise ConfigError(f"attempts must be a whole number >= 1, got {attempts!r}")
        options["attempts"] = attempts
    if "history_table" in table:
        options["history_table"] = str(table["history_table"])
    if "embedded_sqlite" in table:
        if not isinstance(table["embedded_sqlite"], bool):
            raise ConfigError(f"embedded_sqlite must be true or false, got {table['embedded_sqlite']!r}")
        options["embedded_sqlite"] = table["embedded_sqlite"]
    return options


def embedded_file_shown(settings: Settings) -> str:
    """The embedded SQLite file as a user would type it: relative to the current directory
    when it is below it."""
    path = settings.url.split(":///", 1)[-1]
    try:
        return "./" + Path(path).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path


def missing_url(settings: Settings, reason: str, shown: str | None = None) -> str:
    """Why a run without a terminal refuses the embedded SQLite default: which setting is
    missing, and how to choose that file on purpose."""
    shown = shown or embedded_file_shown(settings)
    if settings.alembic_ini is not None:
        where = f"{settings.alembic_ini.name} has no sqlalchemy.url"
    elif settings.pyproject is not None:
        where = "[tool.asyncmigrate] has no url"
    else:
        where = "there is no pyproject.toml or alembic.ini"
    return (
        f"no database URL: {URL_ENV_VAR} is not set and {where}; with {reason}, asyncmigrate does"
        f" not fall back to the embedded SQLite database {shown}: set {URL_ENV_VAR} or pass --url"
        " (or set embedded_sqlite = true in [tool.asyncmigrate] to use that file on purpose)"
    )


def _lint_table(table: dict[str, Any]) -> dict[str, Any]:
    lint = table.get("lint", {})
    if not isinstance(lint, dict):
        raise ConfigError("[tool.asyncmigrate] lint must be a table: [tool.asyncmigrate.lint]")
    return lint


def _from_table(
    project_dir: Path,
    pyproject: Path | None,
    table: dict[str, Any],
    document: dict[str, Any],
    alembic_table: dict[str, Any] | None = None,
) -> Settings:
    unknown = sorted(set(table) - _KNOWN_KEYS)
    name = document.get("project", {}).get("name") or project_dir.name
    url, source = _resolve_url(table.get("url"), project_dir, name)
    script_location = table.get("script_location")
    if script_location is None and alembic_table and alembic_table.get("script_location"):
        script_location = str(alembic_table["script_location"]).replace("%(here)s", project_dir.as_posix())
    return Settings(
        project_dir=project_dir,
        script_location=(project_dir / (script_location or DEFAULT_SCRIPT_LOCATION)).resolve(),
        url=url,
        url_source=source,
        models=_as_models(table.get("models")),
        metadata=table.get("metadata"),
        version_table=table.get("version_table", "alembic_version"),
        version_table_schema=table.get("version_table_schema"),
        render_as_batch=table.get("render_as_batch"),
        compare_server_default=bool(table.get("compare_server_default", True)),
        transaction_per_migration=bool(table.get("transaction_per_migration", True)),
        **_safety_options(table),
        pyproject=pyproject,
        lint=_lint_table(table),
        unknown_keys=tuple(unknown),
    )


def _from_alembic_ini(path: Path) -> Settings:
    """Settings for a plain Alembic project: its own env.py decides the rest."""
    parser = configparser.ConfigParser(defaults={"here": path.parent.as_posix()})
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise ConfigError(f"{path} cannot be read: {exc}") from exc
    if not parser.has_option("alembic", "script_location"):
        raise ConfigError(f"{path} has no script_location in its [alembic] section")
    script_location = parser.get("alembic", "script_location")
    configured_url = parser.get("alembic", "sqlalchemy.url", fallback=None)
    url, source = _resolve_url(configured_url, path.parent, path.parent.name)
    pyproject = path.parent / "pyproject.toml"
    table: dict[str, Any] = {}
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("asyncmigrate", {})
    return Settings(
        project_dir=path.parent,
        script_location=(path.parent / script_location).resolve(),
        url=url,
        url_source=source,
        models=_as_models(table.get("models")),
        metadata=table.get("metadata"),
        **_safety_options(table),
        pyproject=pyproject if pyproject.is_file() else None,
        lint=_lint_table(table),
        alembic_ini=path,
    )
