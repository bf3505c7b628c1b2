"""``history``, ``heads``, ``branches``, ``show`` and ``current`` print what Alembic prints, byte
for byte and with the same exit status, on the revision histories of published packages.

The pinned wheels are downloaded once into a cache directory (``ASYNCMIGRATE_TEST_WHEELS``, by
default ``~/.cache/asyncmigrate-tests/wheels``); the test is skipped only when the package index
cannot be reached and the wheel is not cached. Each project's version directories are unpacked
and both commands run on one ``alembic.ini`` pointing at them, with ``PYTHONHASHSEED=0`` (Alembic
prints branch labels and a branch point's next revisions in the order of a Python set).

The histories were picked for their shapes: merges and branch points (Airflow 1.10), labelled
expand/contract branches with ``depends_on`` (Keystone, Neutron, Glance), several version
locations with labels and cross-package dependencies, one computed at import time (Invenio),
a long linear history (Octavia), and ``depends_on = ""`` (Invenio).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import SYNC_ENV_PY

DRIVER = Path(__file__).parent / "fixtures" / "graph_parity_driver.py"
CACHE = Path(
    os.environ.get("ASYNCMIGRATE_TEST_WHEELS", Path.home() / ".cache" / "asyncmigrate-tests" / "wheels")
)


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    #: Directories inside the wheel holding revision files.
    versions: tuple[str, ...]


@dataclass(frozen=True)
class Project:
    id: str
    wheels: tuple[Wheel, ...]
    recursive: bool = False
    #: The revision files import code that is not installed: load them with stand-ins (both
    #: sides when ``stub_ours``: our fast path cannot read them statically either).
    stub_ours: bool = False
    no_stub: tuple[str, ...] = ()
    #: The unpacked package is importable (its constants name the branches); otherwise all of
    #: the application is a stand-in.
    importable: bool = False
    #: ``-r`` ranges (beyond those picked from the history).
    ranges: tuple[str, ...] = ()
    extra: tuple[tuple[str, ...], ...] = field(default=())


PROJECTS = [
    Project(
        "airflow-1.10",
        (Wheel("apache-airflow", "1.10.15", ("airflow/migrations/versions",)),),
        ranges=("base:939bb1e647c8", "939bb1e647c8:"),
    ),
    Project(
        "keystone",
        (Wheel("keystone", "30.0.0", ("keystone/common/sql/migrations/versions",)),),
        recursive=True,
    ),
    Project(
        "neutron",
        (Wheel("neutron", "29.0.0", ("neutron/db/migration/alembic_migrations/versions",)),),
        recursive=True,
        stub_ours=True,
        importable=True,
    ),
    Project(
        "glance",
        (Wheel("glance", "33.0.0", ("glance/db/sqlalchemy/alembic_migrations/versions",)),),
        stub_ours=True,
        importable=True,
    ),
    Project(
        "invenio",
        (
            Wheel("invenio-db", "2.6.1", ("invenio_db/alembic",)),
            Wheel("invenio-pidstore", "4.0.2", ("invenio_pidstore/alembic",)),
            Wheel("invenio-records", "6.1.0", ("invenio_records/alembic",)),
            Wheel("invenio-files-rest", "6.1.0", ("invenio_files_rest/alembic",)),
            Wheel("invenio-accounts", "9.1.0", ("invenio_accounts/alembic",)),
            Wheel("invenio-oauthclient", "9.1.2", ("invenio_oauthclient/alembic",)),
        ),
        stub_ours=True,
        no_stub=("invenio_communities", "invenio_access"),
    ),
    Project(
        "invenio-static",
        (
            Wheel("invenio-db", "2.6.1", ("invenio_db/alembic",)),
            Wheel("invenio-pidstore", "4.0.2", ("invenio_pidstore/alembic",)),
            Wheel("invenio-records", "6.1.0", ("invenio_records/alembic",)),
            Wheel("invenio-files-rest", "6.1.0", ("invenio_files_rest/alembic",)),
        ),
    ),
    Project("octavia", (Wheel("octavia", "19.0.0", ("octavia/db/migration/alembic_migrations/versions",)),)),
]


def _wheel(wheel: Wheel) -> Path:
    """The wheel from the cache, downloaded first if needed; skip if the index is unreachable."""
    pattern = f"{wheel.name.replace('-', '_')}-{wheel.version}-*.whl"
    found = sorted(CACHE.glob(pattern))
    if found:
        return found[0]
    CACHE.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        + ["-d", str(CACHE), f"{wheel.name}=={wheel.version}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = sorted(CACHE.glob(pattern))
    if result.returncode != 0 or not found:
        pytest.skip(
            f"package index unreachable, {wheel.name}=={wheel.version} not cached: {result.stderr[-300:]}"
        )
    return found[0]


def _unpack(wheel: Wheel) -> Path:
    """The wheel unpacked (once) next to it; the unpacked tree is also the import root."""
    archive = _wheel(wheel)
    root = CACHE / "unpacked" / archive.stem
    if not (root / ".complete").exists():
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(root)
        (root / ".complete").touch()
    return root


def _setup(project: Project, tmp_path: Path) -> tuple[Path, list[Path]]:
    roots = [_unpack(wheel) for wheel in project.wheels]
    pairs = zip(roots, project.wheels, strict=True)
    locations = [root / directory for root, wheel in pairs for directory in wheel.versions]
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "env.py").write_text(SYNC_ENV_PY)
    ini = tmp_path / "alembic.ini"
    ini.write_text(
        "[alembic]\nscript_location = %(here)s/scripts\npath_separator = os\n"
        f"version_locations = {os.pathsep.join(str(location) for location in locations)}\n"
        f"recursive_version_locations = {'true' if project.recursive else 'false'}\n"
        "sqlalchemy.url = sqlite:///%(here)s/project.db\n"
    )
    return ini, roots


def _run(side: str, project: Project, ini: Path, roots: list[Path], commands: list[list[str]]) -> list[dict]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("ASYNCMIGRATE_NO_GRAPH_CACHE", None)
    if project.importable:
        paths = [str(root) for root in roots] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    if side == "alembic" or project.stub_ours:
        env.update(PARITY_STUBS="1", PARITY_NO_STUB=",".join(project.no_stub))
    result = subprocess.run(
        [sys.executable, str(DRIVER), side, str(ini), json.dumps(commands)],
        capture_output=True,
        text=True,
        cwd=ini.parent,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


_HISTORY_LINE = re.compile(r"^(?P<down>.+?) -> (?P<rev>[^ ,]+)(?P<flags>[^,]*),")


def _picked(history: str) -> dict[str, str]:
    """Revisions worth showing: the newest, the oldest, a middle one, and the first labelled,
    merge point, branch point and dependent one."""
    lines = [match for match in map(_HISTORY_LINE.match, history.splitlines()) if match]
    picks = {"newest": lines[0]["rev"], "oldest": lines[-1]["rev"], "middle": lines[len(lines) // 2]["rev"]}
    for name, found in (
        ("mergepoint", lambda m: "(mergepoint)" in m["flags"]),
        ("branchpoint", lambda m: "(branchpoint)" in m["flags"]),
        ("labelled", lambda m: m["flags"].strip().startswith("(") and "(head)" not in m["flags"]),
        ("dependent", lambda m: "(" in m["down"]),
    ):
        match = next((m for m in lines if found(m)), None)
        if match:
            picks[name] = match["rev"]
    return picks


def _stamp(database: Path, revisions: list[str]) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE IF EXISTS alembic_version")
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        connection.executemany("INSERT INTO alembic_version VALUES (?)", [(rev,) for rev in revisions])


def _entries(stdout: str) -> list[str]:
    """``current`` prints several revisions in the order of a set of objects (it changes from
    run to run in Alembic itself): compared as a sorted list of its entries."""
    if "Rev: " in stdout:
        return sorted(re.split(r"(?m)^(?=Rev: )", stdout))
    return sorted(stdout.splitlines(keepends=True))


@pytest.mark.parametrize("project", PROJECTS, ids=[project.id for project in PROJECTS])
def test_graph_commands_print_what_alembic_prints(project: Project, tmp_path: Path) -> None:
    ini, roots = _setup(project, tmp_path)
    [first] = _run("alembic", project, ini, roots, [["history"]])
    assert first["code"] == 0 and first["stdout"], first
    picks = _picked(first["stdout"])
    middle, newest = picks["middle"], picks["newest"]
    _stamp(tmp_path / "project.db", [middle])
    commands = [
        ["history"],
        ["history", "-v"],
        ["history", "-r", f"{middle}:"],
        ["history", "-r", f":{middle}"],
        ["history", "-r", f"{picks['oldest']}:{newest}"],
        *(["history", "-r", rev_range] for rev_range in project.ranges),
        ["history", "-i"],
        ["history", "-r", "current:"],
        ["history", "-v", "-r", ":current", "--indicate-current"],
        ["heads"],
        ["heads", "-v"],
        ["heads", "--resolve-dependencies"],
        ["branches"],
        ["branches", "-v"],
        *(["show", rev] for rev in dict.fromkeys(picks.values())),
        ["show", "heads"],
        ["show", "current"],
        ["current"],
        ["current", "-v"],
        *project.extra,
    ]
    theirs = _run("alembic", project, ini, roots, commands)
    ours = _run("asyncmigrate", project, ini, roots, commands)
    assert theirs[0]["stdout"] == first["stdout"]
    for expected, got in zip(theirs, ours, strict=True):
        command = " ".join(expected["command"])
        assert got["code"] == expected["code"], (command, expected, got)
        if expected["command"][0] == "current":
            assert _entries(got["stdout"]) == _entries(expected["stdout"]), command
        else:
            assert got["stdout"] == expected["stdout"], command
    assert len(ours) == len(theirs) == len(commands)
    # Alembic itself fails on a few ranges of some graphs (an assertion in its topological
    # sort); the rest must work.
    assert sum(result["code"] == 0 for result in theirs) >= len(commands) - 3


# -- the same texts in one process, on generated graphs and on Alembic's odd cases ---------------
# One interpreter, one string hash: sets iterate alike on both sides, so multi-label revisions
# and branch points with several children are compared as printed.


def _all_texts(source: object, current: tuple[str, ...]) -> list[str]:
    from asyncmigrate.graph import text as graphtext

    revisions = [script.revision for script in source.walk_revisions()]  # type: ignore[attr-defined]
    texts = [
        *graphtext.history(source),
        *graphtext.history(source, verbose=True),
        *graphtext.heads(source),
        *graphtext.heads(source, verbose=True),
        *graphtext.heads(source, resolve_dependencies=True),
        *graphtext.branches(source),
        *graphtext.branches(source, verbose=True),
        *graphtext.current(source, current, verbose=True, url="sqlite://"),
    ]
    for revision in revisions:
        texts += graphtext.show(source, revision)
        texts += graphtext.history(source, revision, "heads")
    return texts


@pytest.mark.parametrize(
    "labels, depends",
    [("None", None), ("", None), (("b", "a", "c"), None), (None, ""), (("x",), "base0001")],
    ids=["label 'None'", "label ''", "three labels", "depends_on ''", "label and dependency"],
)
def test_odd_attributes_print_as_in_alembic(tmp_path: Path, labels: object, depends: object) -> None:
    from alembic.script import ScriptDirectory

    from asyncmigrate.graph.cache import GraphLocations, build_graph

    versions = tmp_path / "versions"
    versions.mkdir()
    for revision, down, label, dependency in [
        ("base0001", None, None, None),
        ("odd00001", "base0001", labels, depends),
        ("next0001", "odd00001", None, None),
        ("side0001", "base0001", "side", None),
    ]:
        (versions / f"{revision}.py").write_text(
            f'"""step {revision}\n\nmore text"""\nrevision = {revision!r}\ndown_revision = {down!r}\n'
            f"branch_labels = {label!r}\ndepends_on = {dependency!r}\n"
        )
    ours = build_graph(GraphLocations(tmp_path, (versions,), False))
    theirs = ScriptDirectory(str(tmp_path))
    assert _all_texts(ours, ("next0001",)) == _all_texts(theirs, ("next0001",))
