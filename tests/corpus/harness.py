"""Run one corpus project with plain Alembic and with asyncmigrate, each on a fresh database, and
classify every command: ``works``, ``history`` (fails in the history itself: Alembic fails the
same way) or ``ours`` (fails in asyncmigrate only).

Everything runs in subprocesses of a venv of the project's own (its pinned wheel, its
dependencies, asyncmigrate's dependencies, psycopg2 for the sync env.py files), with this
checkout's ``src`` on PYTHONPATH, so the test process never imports the project's code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .projects import Project, known_differences

REPO = Path(__file__).resolve().parents[2]
#: Commands run with both tools, compared with each other.
PAIRED = ("upgrade head", "current", "history", "heads", "check", "downgrade base", "upgrade --sql")
#: Commands plain Alembic does not have.
OURS_ONLY = ("status", "verify", "test stairway", "lint")
COMMANDS = (
    "upgrade head",
    "current",
    "status",
    "verify",
    "history",
    "heads",
    "check",
    "downgrade base",
    "upgrade --sql",
    "test stairway",
    "lint",
)
ARGS = {
    "upgrade head": ["upgrade", "head"],
    "current": ["current"],
    "status": ["status"],
    "verify": ["verify"],
    "history": ["history"],
    "heads": ["heads"],
    "check": ["check"],
    "downgrade base": ["downgrade", "base"],
    "upgrade --sql": ["upgrade", "head", "--sql"],
    "test stairway": ["test", "stairway", "--format", "json"],
    "lint": ["lint"],
}
#: Said by pip when the index cannot be reached at all (the only reason a project is skipped).
UNREACHABLE = re.compile(
    r"NewConnectionError|Temporary failure in name resolution|Name or service not known|"
    r"Network is unreachable|Connection refused|ConnectTimeoutError|ReadTimeoutError|"
    r"No route to host|Failed to establish a new connection"
)
COMMAND_TIMEOUT = float(os.environ.get("ASYNCMIGRATE_CORPUS_TIMEOUT", "900"))


class Unreachable(Exception):
    """The package index could not be reached: the project is skipped, with this reason."""


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "asyncmigrate-corpus"
    path = Path(os.environ.get("ASYNCMIGRATE_CORPUS_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pip(python: str, *args: str, what: str) -> None:
    """Run pip; an unreachable index raises Unreachable, any other failure RuntimeError."""
    completed = subprocess.run(
        [python, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if completed.returncode != 0:
        output = completed.stdout + completed.stderr
        if UNREACHABLE.search(output):
            raise Unreachable(f"{what}: the package index is unreachable ({UNREACHABLE.search(output)[0]})")
        raise RuntimeError(f"{what} failed:\n{output[-3000:]}")


def asyncmigrate_requirements() -> list[str]:
    """asyncmigrate's own dependencies (from pyproject.toml), the drivers the corpus uses."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    return [*data["project"]["dependencies"], "asyncpg>=0.29", "psycopg2-binary>=2.9"]


def unpacked_wheel(project: Project) -> Path:
    """The project's pinned wheel, downloaded once and unpacked into the cache."""
    root = cache_dir() / "src" / f"{project.dist}-{project.version}"
    if (root / ".complete").exists():
        return root
    wheels = cache_dir() / "wheels"
    spec = f"{project.dist}=={project.version}"
    _pip(
        sys.executable,
        *("download", "-q", "--no-deps", "--only-binary", ":all:", "-d", str(wheels), spec),
        what=f"pip download {spec}",
    )
    prefix = re.sub(r"[-_.]+", "_", project.dist).lower() + "-" + project.version + "-"
    [wheel] = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(prefix)]
    shutil.rmtree(root, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(root)
    (root / ".complete").write_text(wheel.name)
    return root


def project_venv(project: Project) -> Path:
    """A venv with the project installed (and asyncmigrate's dependencies); built once."""
    requirements = asyncmigrate_requirements()
    spec = f"{project.dist}=={project.version}"
    key = hashlib.sha256(
        json.dumps([spec, project.no_deps, list(project.requirements), requirements]).encode()
    ).hexdigest()[:10]
    venv = cache_dir() / "venvs" / f"{project.name}-{project.version}-{key}"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    if project.no_deps:
        _pip(str(python), "install", "-q", "--no-deps", spec, what=f"pip install --no-deps {spec}")
        _pip(str(python), "install", "-q", *project.requirements, *requirements, what=f"{spec} requirements")
    else:
        _pip(
            str(python),
            *("install", "-q", spec, *project.requirements, *requirements),
            what=f"pip install {spec}",
        )
    (venv / ".complete").write_text(spec)
    return python


MINIMAL_INI = """\
[alembic]
script_location = {script_location}
sqlalchemy.url = {url}

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %%(levelname)-5.5s [%%(name)s] %%(message)s
datefmt = %%H:%%M:%%S
"""


def write_project(project: Project, source: Path, directory: Path, url: str) -> Path:
    """The project's migrations copied into ``directory`` with an ini naming them and, when the
    project's env.py reads it there, ``url``."""
    directory.mkdir(parents=True, exist_ok=True)
    scripts = directory / "migrations"
    shutil.copytree(
        source / project.script_location, scripts, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    if project.env == "stock":
        import alembic

        template = Path(alembic.__file__).parent / "templates" / "generic" / "env.py"
        text = template.read_text()
        if project.metadata:
            module, attribute = project.metadata.split(":")
            text = text.replace(
                "target_metadata = None",
                f"import {module}\ntarget_metadata = {module}.{attribute}",
            )
        (scripts / "env.py").write_text(text)
    if project.ini:
        text = (source / project.ini).read_text()
        text = re.sub(r"^script_location\s*=.*$", "script_location = migrations", text, count=1, flags=re.M)
        if re.search(r"^sqlalchemy\.url\s*=", text, flags=re.M):
            text = re.sub(r"^sqlalchemy\.url\s*=.*$", f"sqlalchemy.url = {url}", text, count=1, flags=re.M)
        else:
            line = f"[alembic]\nsqlalchemy.url = {url}"
            text = re.sub(r"^\[alembic\]\s*$", line, text, count=1, flags=re.M)
    else:
        text = MINIMAL_INI.format(script_location="migrations", url=url)
        if project.url_via != "ini":  # the app's settings give the URL: the ini has none
            text = text.replace(f"sqlalchemy.url = {url}\n", "")
    for key, value in project.ini_extra.items():
        if re.search(rf"^{re.escape(key)}\s*=", text, flags=re.M):
            text = re.sub(rf"^{re.escape(key)}\s*=.*$", f"{key} = {value}", text, count=1, flags=re.M)
        else:
            text = re.sub(r"^\[alembic\]\s*$", f"[alembic]\n{key} = {value}", text, count=1, flags=re.M)
    ini = directory / "alembic.ini"
    ini.write_text(text)
    return ini


DBTOOL = r"""
import json, sys
import sqlalchemy as sa
action, url = sys.argv[1], sys.argv[2]
if action in ("create", "drop"):
    name = sys.argv[3]
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        if action == "create":
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        else:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    sys.exit(0)
if action == "create_all":
    import importlib
    module, attribute = sys.argv[3].split(":")
    target = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    target.create_all(sa.create_engine(url))
    sys.exit(0)
engine = sa.create_engine(url)
with engine.connect() as c:
    inspector = sa.inspect(c)
    state = {}
    for schema in [None]:
        for table in inspector.get_table_names(schema=schema):
            state[table] = sorted(col["name"] for col in inspector.get_columns(table, schema=schema))
    versions = None
    if "alembic_version" in state:
        versions = sorted(r[0] for r in c.exec_driver_sql("SELECT version_num FROM alembic_version"))
print(json.dumps({"tables": state, "versions": versions}))
"""
ERROR_LINE = re.compile(r"^([\w.]+(Error|Exception|Exit)\b|FAILED\b|ERROR\b|\[E |timed out)")
#: Tables asyncmigrate keeps for itself (not part of the compared state).
BOOKKEEPING = {"asyncmigrate_history"}


def _sync_pg(url: str) -> str:
    return re.sub(r"^postgresql(\+\w+)?://", "postgresql+psycopg2://", url)


class Database:
    """A fresh database for one tool's run: an SQLite file, or a database on the test server."""

    def __init__(self, python: Path, dialect: str, directory: Path) -> None:
        self.python = python
        self.dialect = dialect
        if dialect == "sqlite":
            self.url = f"sqlite:///{directory / 'db.sqlite'}"
            self.name = None
        else:
            admin = os.environ.get("ASYNCMIGRATE_TEST_PG_URL")
            if not admin:
                raise Unreachable("PostgreSQL is not configured: run the tests with scripts/test")
            self.admin = _sync_pg(admin)
            self.name = f"corpus_{uuid.uuid4().hex[:10]}"
            self._tool("create", self.admin, self.name)
            self.url = re.sub(r"/[^/]*$", f"/{self.name}", self.admin)

    def _tool(self, *args: str) -> str:
        completed = subprocess.run(
            [str(self.python), "-c", DBTOOL, *args], capture_output=True, text=True, timeout=300, check=False
        )
        if completed.returncode != 0:
            raise RuntimeError(f"database helper {args[0]} failed: {completed.stderr[-2000:]}")
        return completed.stdout

    def state(self) -> dict:
        data = json.loads(self._tool("inspect", self.url))
        data["tables"] = {t: c for t, c in data["tables"].items() if t not in BOOKKEEPING}
        return data

    def create_all(self, metadata: str) -> None:
        self._tool("create_all", self.url, metadata)

    def drop(self) -> None:
        if self.name:
            self._tool("drop", self.admin, self.name)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def error_line(self) -> str:
        """The line that says why it failed: asyncmigrate's ``error:`` line, else the last
        exception or FAILED/ERROR line, else the last line."""
        lines = [line.strip() for line in (self.stderr or self.stdout).splitlines() if line.strip()]
        for line in lines:
            if line.startswith("error:"):
                return line
        for line in reversed(lines):
            if ERROR_LINE.match(line):
                return line
        return lines[-1] if lines else f"exit {self.returncode}, no output"


@dataclass
class Cell:
    verdict: str  # works | history | ours
    detail: str = ""
    alembic: dict | None = None
    ours: dict | None = None


@dataclass
class ProjectResult:
    project: str
    version: str
    dialect: str
    cells: dict[str, Cell] = field(default_factory=dict)
    revisions: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def _run(
    python: Path, tool: str, ini: Path, args: list[str], cwd: Path, extra: dict[str, str], timeout: float
) -> Run:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(extra)
    env["PYTHONPATH"] = str(REPO / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            [str(python), "-m", tool, "-c", str(ini), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        return Run(-1, out, f"timed out after {timeout:.0f} s", timeout)
    return Run(completed.returncode, completed.stdout, completed.stderr, time.perf_counter() - start)


def _brief(run: Run) -> dict:
    return {
        "rc": run.returncode,
        "seconds": round(run.seconds, 2),
        "error": run.error_line() if run.returncode else "",
    }


def _first_difference(a: str, b: str) -> str:
    a_lines, b_lines = a.splitlines(), b.splitlines()
    for number, (x, y) in enumerate(zip(a_lines, b_lines, strict=False), 1):
        if x != y:
            return f"line {number}: alembic {x!r}, asyncmigrate {y!r}"
    longer, tool = (a_lines, "alembic") if len(a_lines) > len(b_lines) else (b_lines, "asyncmigrate")
    extra = longer[min(len(a_lines), len(b_lines))]
    return f"alembic prints {len(a_lines)} lines, asyncmigrate {len(b_lines)}; {tool} adds {extra!r}"


def _state_difference(a: dict, b: dict) -> str:
    if a["versions"] != b["versions"]:
        return f"alembic_version: alembic {a['versions']}, asyncmigrate {b['versions']}"
    if a["tables"] != b["tables"]:
        only_a = sorted(set(a["tables"]) - set(b["tables"]))
        only_b = sorted(set(b["tables"]) - set(a["tables"]))
        columns = sorted(t for t in set(a["tables"]) & set(b["tables"]) if a["tables"][t] != b["tables"][t])
        return f"tables: only alembic {only_a}, only asyncmigrate {only_b}, columns differ in {columns}"
    return ""


def compare(alembic: Run, ours: Run, difference: str = "", graph_only: bool = False) -> Cell:
    """One paired command: same success as Alembic, and nothing else differs."""
    brief = {"alembic": _brief(alembic), "ours": _brief(ours)}
    if ours.returncode == -1 and alembic.returncode != -1:  # a hang is never the history's failure
        return Cell("ours", ours.error_line(), **brief)
    if (alembic.returncode == 0) != (ours.returncode == 0):
        if graph_only and ours.returncode == 0:
            # README: these read revision files with ast and do not run them, nor env.py
            detail = f"alembic fails, asyncmigrate runs no revision file: {alembic.error_line()}"
            return Cell("works", detail, **brief)
        if ours.returncode:
            return Cell("ours", ours.error_line(), **brief)
        return Cell("ours", f"asyncmigrate exits 0 where alembic fails: {alembic.error_line()}", **brief)
    if difference:
        return Cell("ours", difference, **brief)
    if alembic.returncode == 0:
        return Cell("works", **brief)
    return Cell("history", alembic.error_line(), **brief)


ALEMBIC_DIFFERENCES = "New upgrade operations detected: "
OURS_DIFFERENCES = re.compile(r"^The models differ from the database \((\d+) changes?\)", re.M)


def judge_check(project: Project, dialect: str, alembic: Run, ours: Run) -> Cell | None:
    """``check``: asyncmigrate reports as many differences as Alembic, less the false ones it
    leaves out and plus the true ones Alembic misses, where projects.py lists them for this
    project and database. None where Alembic fails otherwise or asyncmigrate hangs."""
    line = next((x for x in (alembic.stderr + alembic.stdout).splitlines() if ALEMBIC_DIFFERENCES in x), "")
    if ours.returncode == -1 or (alembic.returncode and not line):
        return None
    brief = {"alembic": _brief(alembic), "ours": _brief(ours)}
    reported = OURS_DIFFERENCES.search(ours.stdout)
    if ours.returncode and not reported:
        return Cell("ours", ours.error_line(), **brief)
    theirs = len(re.findall(r"\('(?:add|remove|modify)_\w+', ", line))
    expected, reasons = theirs, []
    for known in known_differences(project.name, dialect):
        if known.alembic and known.alembic in line and known.ours not in ours.stdout:
            expected -= known.operations
            reasons.append(known.reason)
        elif not known.alembic and known.ours in ours.stdout:
            expected += known.operations
            reasons.append(known.reason)
    found = int(reported.group(1)) if reported else 0
    if found != expected:
        detail = f"alembic reports {theirs} differences, asyncmigrate {found} (expected {expected})"
        return Cell("ours", detail, **brief)
    detail = "; ".join(reasons) or (alembic.error_line() if line else "")
    return Cell("history" if found else "works", detail, **brief)


def _message(line: str) -> str:
    """An error line without the tool's prefixes (``ERROR [logger]``, ``error:``, ``Type:``)."""
    line = re.sub(r"^(error:|ERROR \[[^]]*\]|FAILED:|\[E [^]]*\])\s*", "", line)
    line = re.sub(r"^[\w.]+(Error|Exception): ", "", line)
    return line.strip()[:60]


def judge_ours_only(command: str, ours: Run, upgrade_failure: str) -> Cell:
    """status/verify/stairway/lint: a report (exit 0, or 1 with findings) works; an ``error:``
    line, a traceback or a hang is asyncmigrate's, unless it is the failure plain Alembic's
    ``upgrade head`` hit (``upgrade_failure``)."""
    brief = {"ours": _brief(ours)}
    text = ours.stdout + ours.stderr
    # the stairway's exit 2: nothing flagged, the walk stopped early (said in its report)
    reports = (0, 1, 2) if command == "test stairway" else (0, 1)
    crashed = ours.returncode not in reports or "Traceback (most recent call last)" in text
    if ours.returncode == 0:
        return Cell("works", _summary(command, ours), **brief)
    if command == "verify" and ours.returncode == 2 and re.search(r"^not verified:", ours.stdout, re.M):
        # nothing wrong found, and it says what it could not check (a project's own env.py
        # keeps no history table): the honest answer, not a failure
        return Cell("works", _summary(command, ours), **brief)
    if crashed or re.search(r"^error:", ours.stderr, flags=re.M):
        if upgrade_failure and _message(upgrade_failure) in text:
            return Cell("history", ours.error_line(), **brief)
        return Cell("ours", ours.error_line(), **brief)
    # exit 1 with a report: findings about the history
    verdict = "works" if command == "lint" else "history"
    return Cell(verdict, _summary(command, ours), **brief)


def _summary(command: str, run: Run) -> str:
    if command == "test stairway":
        return stairway_summary(run.stdout)
    if command == "lint":
        lines = [line for line in run.stdout.splitlines() if line.strip()]
        return lines[-1][:160] if lines else ""
    if command == "verify" and run.returncode:
        return run.error_line()[:200]
    return ""


def stairway_summary(stdout: str) -> str:
    """``test stairway --format json``'s report in one line: walked, flagged, where it stopped."""
    try:
        report = json.loads(stdout)
    except ValueError:
        return stdout.strip().splitlines()[-1][:200] if stdout.strip() else "no report"
    flagged = len(report["failed"])
    line = f"{report['mode']}: {report['walked']} of {report['total']} walked, {flagged} flagged"
    if report["failed"]:
        line += f" ({' '.join(report['failed'][:12])})"
    if report["stopped"]:
        line += f"; {report['stopped'][:160]}"
    return line


def run_project(project: Project, dialect: str, workdir: Path) -> ProjectResult:
    """Both tools on their own fresh database, every command, classified."""
    start = time.perf_counter()
    source = unpacked_wheel(project)
    python = project_venv(project)
    result = ProjectResult(project.name, project.version, dialect)
    limit = project.timeout or COMMAND_TIMEOUT
    runs: dict[str, dict[str, Run]] = {"alembic": {}, "asyncmigrate": {}}
    states: dict[str, dict[str, dict]] = {"alembic": {}, "asyncmigrate": {}}

    def one(tool: str) -> None:
        directory = workdir / f"{project.name}-{dialect}-{tool}"
        database = Database(python, dialect, directory if dialect == "sqlite" else workdir)
        if dialect == "sqlite":
            directory.mkdir(parents=True, exist_ok=True)
        try:
            ini = write_project(project, source, directory, database.url)
            extra = {"HOME": str(directory)}  # apps that keep settings under ~ keep them apart
            if project.url_via.startswith("env:"):
                extra[project.url_via[4:]] = database.url
            if project.create_all:
                # as the project makes a new database: its tables, then plain Alembic's stamp
                database.create_all(project.create_all)
                if project.after_create_all == "stamp":
                    stamped = _run(python, "alembic", ini, ["stamp", "head"], directory, extra, limit)
                    if stamped.returncode:
                        raise RuntimeError(f"alembic stamp head after create_all: {stamped.error_line()}")
                if tool == "alembic":  # what plain Alembic does from an empty database, for the stairway
                    empty = Database(python, dialect, directory / "empty" if dialect == "sqlite" else workdir)
                    try:
                        (directory / "empty").mkdir(exist_ok=True)
                        empty_ini = write_project(project, source, directory / "empty", empty.url)
                        runs[tool]["from empty"] = _run(
                            python, tool, empty_ini, ["upgrade", "head"], directory / "empty", extra, limit
                        )
                    finally:
                        empty.drop()
            for command in COMMANDS:
                if tool == "alembic" and command in OURS_ONLY:
                    continue
                args = ARGS[command]
                if command == "test stairway" and project.create_all:
                    # such a history does not build from an empty database: walk it as the
                    # project deploys, from its models at head top down, or up from its
                    # initial tables
                    if project.after_create_all == "stamp":
                        args = [*args, "--from-models"]
                    else:
                        args = [*args, "--base-models", project.create_all]
                runs[tool][command] = _run(python, tool, ini, args, directory, extra, limit)
                if command == "upgrade head":
                    states[tool]["upgrade head"] = database.state()
                elif command == "downgrade base":
                    states[tool]["downgrade base"] = database.state()
        finally:
            database.drop()

    # the two tools' runs share nothing (own directory, own database): side by side
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(one, tool) for tool in ("alembic", "asyncmigrate")]:
            done.result()
    result.revisions = len(list((source / project.script_location).rglob("versions/**/*.py")))
    a, o = runs["alembic"], runs["asyncmigrate"]
    for command in COMMANDS:
        if command in OURS_ONLY:
            # the stairway and the other checks start from an empty database
            upgrade = a.get("from empty", a["upgrade head"])
            failure = upgrade.error_line() if upgrade.returncode else ""
            result.cells[command] = judge_ours_only(command, o[command], failure)
            continue
        difference = ""
        if command in states["alembic"]:
            difference = _state_difference(states["alembic"][command], states["asyncmigrate"][command])
        elif command in ("current", "history", "heads", "upgrade --sql") and a[command].returncode == 0:
            if a[command].stdout != o[command].stdout:
                difference = "output differs from alembic's, " + _first_difference(
                    a[command].stdout, o[command].stdout
                )
        graph_only = command in ("history", "heads", "current")
        cell = judge_check(project, dialect, a[command], o[command]) if command == "check" else None
        result.cells[command] = cell or compare(a[command], o[command], difference, graph_only)
    result.seconds = round(time.perf_counter() - start, 1)
    results = cache_dir() / "results"
    results.mkdir(exist_ok=True)
    (results / f"{project.name}-{dialect}.json").write_text(json.dumps(result.to_json(), indent=1))
    return result
