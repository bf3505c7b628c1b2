"""The revision-graph cache and the fast read-only commands give Alembic's answers, exactly.

In process, the cached graph (graph.revisions.RevisionGraph) is compared with Alembic's ScriptDirectory
on hand-written and on random graphs: walk order for every range, heads, labels, status. Through
the command line, each fast command's stdout, stderr and exit code are compared with the same
command run through Alembic (ASYNCMIGRATE_NO_GRAPH_CACHE=1), and the fast run is checked to have
imported neither SQLAlchemy, Alembic nor rich.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from asyncmigrate.config import load_settings
from asyncmigrate.dialects.sqlite import sqlite_file
from asyncmigrate.graph import cache as graphcache
from asyncmigrate.graph import text as graphtext
from asyncmigrate.graph.cache import GraphLocations, build_graph, load_graph
from asyncmigrate.graph.files import NotStatic, parse_revision
from asyncmigrate.graph.revisions import GraphUnavailable, RevisionGraph
from asyncmigrate.graph.status import RevisionInfo, applied_revisions, build_status
from asyncmigrate.scaffold import init_project
from asyncmigrate.tables.history import verify_history
from asyncmigrate.tables.read import display_url

from .conftest import asyncpg_connect

REVISION = '''\
"""{message}

Revision ID: {revision}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = {revision!r}
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = {depends!r}


def upgrade():
    pass


def downgrade():
    pass
'''

Revs = str | tuple[str, ...] | None


def write(
    versions: Path,
    revision: str,
    down: Revs = None,
    *,
    labels: Revs = None,
    depends: Revs = None,
    message: str | None = None,
    name: str | None = None,
) -> Path:
    versions.mkdir(parents=True, exist_ok=True)
    path = versions / (name or f"{revision}_rev.py")
    path.write_text(
        REVISION.format(
            revision=revision,
            down=down,
            labels=labels,
            depends=depends,
            message=message or f"step {revision}",
        )
    )
    return path


def alembic_dir(script_dir: Path) -> ScriptDirectory:
    return ScriptDirectory(str(script_dir))


def cached_graph(script_dir: Path) -> RevisionGraph:
    return build_graph(GraphLocations(script_dir, (script_dir / "versions",), False))


def walk(source: object, base: str = "base", head: str = "heads") -> list[str]:
    return [script.revision for script in source.walk_revisions(base, head)]  # type: ignore[attr-defined]


def infos(scripts: Iterable[object]) -> list[RevisionInfo]:
    return [RevisionInfo.from_script(script) for script in scripts]


def assert_same_graph(script_dir: Path, identifiers: list[str]) -> RevisionGraph:
    """Every range of the identifiers walks the same; heads, labels and flags agree."""
    alembic = alembic_dir(script_dir)
    graph = cached_graph(script_dir)
    assert infos(graph.walk_revisions()) == infos(alembic.walk_revisions())
    assert graph.get_heads() == alembic.get_heads()
    assert infos(graph.get_revisions("heads")) == infos(alembic.get_revisions("heads"))
    for base in ["base", *identifiers]:
        for head in ["heads", "head", *identifiers]:
            try:
                expected = walk(alembic, base, head)
            except Exception:  # CommandError, or Alembic's own assertion on odd ranges
                with pytest.raises(GraphUnavailable):
                    walk(graph, base, head)
                continue
            assert walk(graph, base, head) == expected, (base, head)
    return graph


# -- the graph, in process ------------------------------------------------------------------------


def test_linear_history(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    down = None
    for n in range(12):
        write(versions, f"a{n:03d}", down, name=f"{(7 * n) % 12:02d}_a{n:03d}.py")  # load order != history
        down = f"a{n:03d}"
    assert_same_graph(tmp_path, ["a000", "a005", "a011", "a00", "a01"])


def test_branches_merges_labels_and_dependencies(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    write(versions, "base0001")
    write(versions, "left0001", "base0001", labels="left")
    write(versions, "left0002", "left0001")
    write(versions, "rght0001", "base0001", labels=("right", "r"))
    write(versions, "rght0002", "rght0001", depends="left0001")
    write(versions, "third001", "base0001")
    write(versions, "merge001", ("left0002", "rght0002"))
    write(versions, "after001", "merge001", depends=("right", "third001"))
    write(versions, "other001", labels="other")  # a second base
    write(versions, "other002", "other001", depends="left")
    write(versions, "dep00001", "base0001")
    write(versions, "usesdep1", "third001", depends="dep00001")  # dep00001 is a head only by version
    graph = assert_same_graph(
        tmp_path,
        ["base0001", "left0001", "rght0002", "merge001", "other001", "third001", "left", "right", "merg"],
    )
    by_id = {node.revision: node for node in graph.walk_revisions()}
    assert by_id["left0002"].branch_labels == {"left"}  # inherited
    assert by_id["merge001"].is_merge_point and by_id["base0001"].is_branch_point


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    versions = tmp_path / "versions"
    revisions: list[str] = []
    labels: dict[str, str] = {}
    for n in range(rng.randrange(2, 28)):
        revision = f"{rng.randrange(16**8):08x}"
        roll = rng.random()
        if not revisions or roll < 0.06:
            down: Revs = None
        elif roll < 0.18 and len(revisions) > 1:
            down = tuple(rng.sample(revisions, 2))
        else:
            down = rng.choice(revisions[-4:] if rng.random() < 0.7 else revisions)
        depends: list[str] = []
        if revisions and rng.random() < 0.25:
            depends = rng.sample(revisions, min(len(revisions), rng.randrange(1, 4)))
            depends = [labels.get(dep, dep) if rng.random() < 0.3 else dep for dep in depends]
        label = f"label{n}" if rng.random() < 0.15 else None
        if label:
            labels[revision] = label
        write(
            versions,
            revision,
            down,
            labels=label,
            depends=tuple(depends) or None,
            name=f"{rng.randrange(10**6):06d}_{revision}.py",
        )
        revisions.append(revision)
    picks = (
        rng.sample(revisions, min(5, len(revisions)))
        + [r[:5] for r in revisions[:2]]
        + list(labels.values())[:2]
    )
    graph = assert_same_graph(tmp_path, picks)
    alembic = alembic_dir(tmp_path)
    for _ in range(4):
        current = tuple(rng.sample(revisions, rng.randrange(0, 3)))
        assert applied_revisions(graph, current) == applied_revisions(alembic, current)
        problems = verify_history(graph, current, None)
        assert problems == verify_history(alembic, current, None)
        assert build_status(graph, current, problems) == build_status(alembic, current, problems)
        assert graphtext.current(graph, current) == graphtext.current(alembic, current)
    # What the commands print (one process, one string hash: sets iterate alike on both sides).
    same = _same_labels_order if any(len(n.branch_labels) > 1 for n in graph.walk_revisions()) else _same
    for verbose in (False, True):
        same(graphtext.history(graph, verbose=verbose), graphtext.history(alembic, verbose=verbose))
        same(graphtext.branches(graph, verbose=verbose), graphtext.branches(alembic, verbose=verbose))
        for resolve in (False, True):
            expected = graphtext.heads(alembic, verbose=verbose, resolve_dependencies=resolve)
            same(graphtext.heads(graph, verbose=verbose, resolve_dependencies=resolve), expected)
    for revision in revisions:
        same(graphtext.show(graph, revision), graphtext.show(alembic, revision))


def _same(ours: list[str], theirs: list[str]) -> None:
    assert ours == theirs


def _same_labels_order(ours: list[str], theirs: list[str]) -> None:
    """A revision that inherits several branch labels: Alembic fills its label set from a set of
    revision objects (in the order of their memory addresses), so the labels' printed order is
    not reproducible even between two runs of Alembic. Everything else must match."""

    def sort_lists(text: str) -> str:
        def ordered(items: str) -> str:
            return ", ".join(sorted(items.split(", ")))

        text = re.sub(r"\(([^()]*, [^()]*)\)", lambda m: f"({ordered(m[1])})", text)
        return re.sub(r"(?m)^(Branch names: )(.*)$", lambda m: m[1] + ordered(m[2]), text)

    assert [sort_lists(text) for text in ours] == [sort_lists(text) for text in theirs]


def test_what_alembic_refuses_is_not_answered(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    write(versions, "aaaa0001")
    write(versions, "bbbb0001", "aaaa0001")
    write(versions, "cccc0001", "aaaa0001")
    alembic = alembic_dir(tmp_path)
    graph = cached_graph(tmp_path)
    assert walk(graph, "base", "a") == walk(alembic, "base", "a") == ["aaaa0001"]  # a unique prefix
    for base, head in [
        ("base", "head"),  # two heads
        ("bbbb0001", "cccc0001"),  # not an ancestor
        ("base", "nope"),
        ("base", "z"),
        ("x@base", "heads"),
        ("base", "aaaa0001+1"),  # relative: left to Alembic
    ]:
        with pytest.raises(Exception):  # noqa: B017 - Alembic's exception type varies
            walk(alembic, base, head)
        with pytest.raises(GraphUnavailable):
            walk(graph, base, head)
    write(versions, "dddd0001", "missing1")
    with pytest.raises(GraphUnavailable):
        cached_graph(tmp_path)


def test_version_locations_and_recursive_dirs(tmp_path: Path) -> None:
    init_project(project_dir=tmp_path, models="unused")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.alembic]",
            "[tool.alembic]\nrecursive_version_locations = true\n"
            'version_locations = ["%(here)s/migrations/versions", "%(here)s/more"]',
        )
    )
    versions = tmp_path / "migrations" / "versions"
    write(versions / "2024", "aaaa0001", name="z.py")
    write(versions / "2023", "bbbb0001", "aaaa0001", name="a.py")
    write(tmp_path / "more" / "deep", "cccc0001", "bbbb0001")
    write(tmp_path / "more", "dddd0001", "aaaa0001", labels="side")
    (versions / "__pycache__").mkdir(exist_ok=True)
    (versions / "notes.txt").write_text("not a revision")
    settings = load_settings(start=tmp_path)
    graph = load_graph(settings)
    from asyncmigrate import Migrator

    alembic = Migrator(settings).script_directory()
    assert infos(graph.walk_revisions()) == infos(alembic.walk_revisions())
    assert [n.revision for n in graph.get_revisions("heads")] == [
        s.revision for s in alembic.get_revisions("heads")
    ]


def test_alembic_ini_version_locations(tmp_path: Path) -> None:
    (tmp_path / "alembic").mkdir()
    (tmp_path / "alembic" / "env.py").write_text("# a foreign env.py\n")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/alembic\npath_separator = os\n"
        f"version_locations = %(here)s/alembic/versions{os.pathsep}%(here)s/extra\n"
        "sqlalchemy.url = sqlite:///app.db\n"
    )
    write(tmp_path / "alembic" / "versions", "aaaa0001")
    write(tmp_path / "extra", "bbbb0001", "aaaa0001")
    settings = load_settings(config_file=tmp_path / "alembic.ini")
    graph = load_graph(settings)
    from asyncmigrate import Migrator

    alembic = Migrator(settings).script_directory()
    assert infos(graph.walk_revisions()) == infos(alembic.walk_revisions())
    assert len(graph) == 2


# -- reading revision files ------------------------------------------------------------------------


def parse(source: str) -> object:
    return parse_revision(textwrap.dedent(source).encode(), "r.py")


def test_static_forms_alembic_writes() -> None:
    parsed = parse(
        '''\
        """Add users

        Revision ID: ae1027a6acf
        Revises:
        Create Date: 2026-11-25
        """
        from typing import Sequence, Union

        revision: str = "ae1027a6acf"
        down_revision: Union[str, None] = ["a1", "b2"]
        branch_labels: Union[str, Sequence[str], None] = ("x",)
        depends_on: Union[str, Sequence[str], None] = None
        '''
    )
    assert parsed.revision == "ae1027a6acf"  # type: ignore[attr-defined]
    assert parsed.down_revision == ("a1", "b2")  # type: ignore[attr-defined]
    assert parsed.branch_labels == ("x",)  # type: ignore[attr-defined]
    assert parsed.doc.startswith("Add users\n\nRevision ID")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "source",
    [
        'revision = "ab" + "cd"\ndown_revision = None\n',
        'revision = "abcd"\nrevision = "efgh"\ndown_revision = None\n',
        'revision = "abcd"\nif True:\n    down_revision = "x"\ndown_revision = None\n',
        'revision = "abcd"\ndown_revision = None\nglobals()["depends_on"] = "x"\n',
        'from somewhere import *\nrevision = "abcd"\ndown_revision = None\n',
        'from somewhere import depends_on\nrevision = "abcd"\ndown_revision = None\n',
        'revision = "abcd"\ndown_revision = None\ndef f():\n    global branch_labels\nf()\n',
        'revision = "abcd"\ndown_revision = None\nfor depends_on in ["x"]:\n    pass\n',
        'revision = "abcd"\ndown_revision = {"a", "b"}\n',
        'revision = "abcd"\ndown_revision = None\n__doc__ = "changed"\n',
        'revision = "abcd"\n',
        "revision = (\n",
    ],
)
def test_what_is_not_static(source: str) -> None:
    with pytest.raises(NotStatic):
        parse(source)


def test_local_names_in_functions_are_fine() -> None:
    parsed = parse(
        """\
        revision = "abcd"
        down_revision = None


        def upgrade():
            revision = "local"
            for depends_on in range(3):
                print(revision, depends_on)
        """
    )
    assert parsed.revision == "abcd"  # type: ignore[attr-defined]


def test_docstring_is_the_module_docstring(tmp_path: Path) -> None:
    """Whatever the interpreter does to docstrings (3.13 dedents them), the message matches."""
    source = (
        '"""  Title line\n    indented continuation\n\n    Revision ID: x\n"""\n'
        'revision = "x"\ndown_revision = None\n'
    )
    path = tmp_path / "doc_rev.py"
    path.write_text(source)
    import importlib.util

    spec = importlib.util.spec_from_file_location("doc_rev", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    assert parse_revision(source.encode(), str(path)).doc == module.__doc__


# -- the cache -----------------------------------------------------------------------------------


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the cache parses (anything not parsed came from the cache)."""
    seen: list[str] = []
    original = graphcache.parse_revision

    def counting(data: bytes, filename: str) -> object:
        seen.append(Path(filename).name)
        return original(data, filename)

    monkeypatch.setattr(graphcache, "parse_revision", counting)
    return seen


def messages(script_dir: Path) -> dict[str, str]:
    return {info.revision: info.message for info in infos(cached_graph(script_dir).walk_revisions())}


def test_cache_parses_only_what_changed(tmp_path: Path, parses: list[str]) -> None:
    versions = tmp_path / "versions"
    first = write(versions, "aaaa0001", message="first", name="a.py")
    write(versions, "bbbb0001", "aaaa0001", message="second", name="b.py")
    assert messages(tmp_path) == {"aaaa0001": "first", "bbbb0001": "second"}
    assert sorted(parses) == ["a.py", "b.py"]
    cache_file = tmp_path / "__pycache__" / "asyncmigrate-graph.json"
    assert set(json.loads(cache_file.read_text())["files"]) == {
        str(versions / "a.py"),
        str(versions / "b.py"),
    }

    parses.clear()
    assert messages(tmp_path) == {"aaaa0001": "first", "bbbb0001": "second"}
    assert parses == []

    # same size, different content, mtime put back: the hash tells
    stat = first.stat()
    first.write_text(first.read_text().replace("first", "FIRST"))
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert first.stat().st_size == stat.st_size
    assert messages(tmp_path)["aaaa0001"] == "FIRST"
    assert parses == ["a.py"]

    # a new mtime, same content: read again, not parsed again
    parses.clear()
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert messages(tmp_path)["aaaa0001"] == "FIRST"
    assert parses == []

    # renamed: same content, no parse; the path moves
    (versions / "b.py").rename(versions / "c.py")
    graph = cached_graph(tmp_path)
    assert Path(graph.get_revision("bbbb0001").path).name == "c.py"  # type: ignore[union-attr]
    assert parses == []
    assert str(versions / "b.py") not in json.loads(cache_file.read_text())["files"]

    # added and deleted
    write(versions, "cccc0001", "bbbb0001", message="third", name="d.py")
    assert messages(tmp_path) == {"aaaa0001": "FIRST", "bbbb0001": "second", "cccc0001": "third"}
    assert parses == ["d.py"]
    (versions / "d.py").unlink()
    assert messages(tmp_path) == {"aaaa0001": "FIRST", "bbbb0001": "second"}


def test_racy_entries_are_hashed_again(tmp_path: Path, parses: list[str]) -> None:
    """A file rewritten within the timestamp granularity keeps its stat data: an entry written
    right after its file changed is not trusted on stat alone."""
    versions = tmp_path / "versions"
    path = write(versions, "aaaa0001", message="one", name="a.py")
    assert messages(tmp_path) == {"aaaa0001": "one"}
    cache_file = tmp_path / "__pycache__" / "asyncmigrate-graph.json"
    document = json.loads(cache_file.read_text())
    entry = document["files"][str(path)]
    path.write_text(path.read_text().replace('"""one', '"""two'))
    info = path.stat()
    entry["stat"] = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]  # stat unchanged
    cache_file.write_text(json.dumps(document))
    assert messages(tmp_path) == {"aaaa0001": "two"}


def test_unreadable_cache_is_rebuilt(tmp_path: Path) -> None:
    write(tmp_path / "versions", "aaaa0001")
    cached_graph(tmp_path)
    cache_file = tmp_path / "__pycache__" / "asyncmigrate-graph.json"
    cache_file.write_text("{not json")
    assert len(cached_graph(tmp_path)) == 1
    assert json.loads(cache_file.read_text())["format"] == graphcache.CACHE_FORMAT


def test_dynamic_file_falls_back(tmp_path: Path) -> None:
    write(tmp_path / "versions", "aaaa0001")
    (tmp_path / "versions" / "b.py").write_text('revision = "bbbb" + "0001"\ndown_revision = "aaaa0001"\n')
    with pytest.raises(GraphUnavailable):
        cached_graph(tmp_path)


def test_sqlite_urls_read_directly_are_shown_as_sqlalchemy_shows_them() -> None:
    for url in ["sqlite+aiosqlite:////tmp/a b/x.db", "sqlite:///rel.db", "sqlite+pysqlite:///./a-b_c~d+e.db"]:
        assert sqlite_file(url) == os.path.abspath(make_url(url).database)  # type: ignore[arg-type]
        assert display_url(url) == make_url(url).render_as_string(hide_password=True)
    for url in [
        "sqlite+aiosqlite:///x.db?mode=ro",
        "sqlite+aiosqlite:///a%20b.db",
        "sqlite://",
        "sqlite:///:memory:",
    ]:
        assert sqlite_file(url) is None


@pytest.mark.parametrize(
    ("text", "direct"),
    [
        ("plain", True),
        ("a -> b (head), step 1", True),
        ("applied on 2026-11-25 10:00: r1.py", True),
        ("ünïcode 漢字 ✓", True),
        ("multi  \n  line  ", True),
        ("x" * 300, True),
        ("ratio :100: done", False),
        ("emoji :thumbs_up:", False),
        ("fix [bold]x[/bold]", False),
        ("path\\with\\backslashes\\", False),
        ("tab\there", False),
        ("cr\rhere", False),
    ],
)
def test_plain_output_only_when_rich_prints_it_unchanged(text: str, direct: bool) -> None:
    import io

    from rich.console import Console
    from rich.markup import escape

    from asyncmigrate.output.console import _unchanged_by_rich

    assert _unchanged_by_rich(text, "utf-8") is direct
    if direct:
        for markup in (escape(text), text):
            buffer = io.StringIO()
            Console(file=buffer, highlight=False, soft_wrap=True).print(markup)
            assert buffer.getvalue() == text + "\n"


# -- the command line --------------------------------------------------------------------------------

#: Runs the CLI, then records which heavy packages the process imported.
PROBE = (
    "import os, sys\n"
    "try:\n"
    "    from asyncmigrate.cli.main import main\n"
    "    main(sys.argv[1:])\n"
    "finally:\n"
    "    heavy = sorted({'sqlalchemy', 'alembic', 'rich.console'}.intersection(sys.modules))\n"
    "    open(os.environ['PROBE_FILE'], 'w').write(','.join(heavy))\n"
)


def run(project: Path, *args: str, fast: bool, url: str | None = None) -> tuple[int, str, str, str]:
    probe = project.parent / "probe.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", graphcache.DISABLE_ENV)}
    env.update(
        PYTHONHASHSEED="0",
        PROBE_FILE=str(probe),
        DATABASE_URL=url or f"sqlite+aiosqlite:///{project / 'app.db'}",
    )
    if not fast:
        env[graphcache.DISABLE_ENV] = "1"
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return completed.returncode, completed.stdout, completed.stderr, probe.read_text()


def assert_same_output(project: Path, *args: str, light: bool = True, url: str | None = None) -> str:
    """Same exit code, stdout and stderr with and without the cache; the fast run stayed light
    (no SQLAlchemy, Alembic or rich)."""
    code, out, err, heavy = run(project, *args, fast=True, url=url)
    assert (code, out, err) == run(project, *args, fast=False, url=url)[:3], args
    if light:
        assert heavy == "", (args, heavy)
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    init_project(project_dir=root, models="unused")
    versions = root / "migrations" / "versions"
    write(versions, "1a2b3c4d5e6f", message="create users")
    write(versions, "2b3c4d5e6f70", "1a2b3c4d5e6f", message="add email\nto users")
    write(versions, "3c4d5e6f7081", "2b3c4d5e6f70", labels="billing", message="billing: invoices")
    write(versions, "4d5e6f708192", "3c4d5e6f7081", message="payments")
    write(versions, "5e6f708192a3", "2b3c4d5e6f70", depends="billing", message="reports")
    write(versions, "6f708192a3b4", ("4d5e6f708192", "5e6f708192a3"), message="merge billing and reports")
    write(versions, "708192a3b4c5", "6f708192a3b4", message="after the merge")
    write(versions, "8192a3b4c5d6", "1a2b3c4d5e6f", labels=("audit",), message="audit trail")
    return root


GRAPH_COMMANDS = [
    ("heads",),
    ("heads", "-v"),
    ("history",),
    ("history", "-v"),
    ("branches",),
    ("history", "-r", "base:heads"),
    ("history", "-r", "2b3c4d5e6f70:"),
    ("history", "-r", ":6f708192a3b4"),
    ("history", "-r", "3c4d:708192a3b4c5"),
    ("history", "-r", "billing:"),
    ("show", "3c4d5e6f7081"),
    ("show", "heads"),
    ("show", "audit"),
]


def test_graph_commands_match_alembic(project: Path) -> None:
    for args in GRAPH_COMMANDS:
        assert_same_output(project, *args)
    assert assert_same_output(project, "heads").splitlines() == [
        "708192a3b4c5 (billing) (head)",
        "8192a3b4c5d6 (audit) (head)",
    ]


def test_errors_and_unsupported_ranges_go_through_alembic(project: Path) -> None:
    for args in [
        ("history", "-r", "current:"),
        ("history", "-r", "nope:"),
        ("history", "-r", "head:"),
        ("history", "-r", "billing@base:"),
        ("history", "-r", "-1:"),
        ("history", "-r", "no-colon"),
        ("show", "head"),
        ("show", "nope"),
    ]:
        assert_same_output(project, *args, light=False)


def test_current_and_status_match_alembic(project: Path) -> None:
    assert_same_output(project, "current")  # no database yet: the embedded-database notice too
    assert_same_output(project, "status")
    assert run(project, "upgrade", "5e6f708192a3", fast=True)[0] == 0
    for args in [("current",), ("current", "-v"), ("status",)]:
        assert_same_output(project, *args)
    assert run(project, "upgrade", "heads", fast=True)[0] == 0
    for args in [("current",), ("current", "-v"), ("status",)]:
        assert_same_output(project, *args)
    # an applied file edited since: status reports it, both ways
    applied = next((project / "migrations" / "versions").glob("4d5e6f708192_*.py"))
    applied.write_text(applied.read_text() + "\n# edited\n")
    assert "was edited after it was applied" in assert_same_output(project, "status")


def test_revision_file_changes_are_seen(project: Path) -> None:
    versions = project / "migrations" / "versions"
    assert_same_output(project, "history")
    path = next(versions.glob("708192a3b4c5_*.py"))
    stat = path.stat()
    path.write_text(path.read_text().replace("after the merge", "AFTER THE MERGE"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert "AFTER THE MERGE" in assert_same_output(project, "history")
    path.rename(versions / "renamed.py")
    assert str(versions / "renamed.py") in assert_same_output(project, "heads", "-v")
    write(versions, "9a3b4c5d6e7f", "708192a3b4c5", message="added later")
    assert "added later" in assert_same_output(project, "history")
    (versions / "renamed.py").unlink()
    (versions / "9a3b4c5d6e7f_rev.py").unlink()
    assert_same_output(project, "history")


def test_dynamic_revision_file_goes_through_alembic(project: Path) -> None:
    versions = project / "migrations" / "versions"
    (versions / "dyn.py").write_text(
        '"""computed"""\nPREFIX = "99"\nrevision = PREFIX + "aa00bb11"\ndown_revision = "708192a3b4c5"\n'
        "branch_labels = None\ndepends_on = None\n"
    )
    code, out, _, heavy = run(project, "heads", fast=True)
    assert code == 0 and "99aa00bb11 (billing) (head)" in out
    assert "alembic" in heavy.split(",")
    assert_same_output(project, "history", light=False)


def test_graph_texts_are_printed_verbatim_as_alembic_does(project: Path) -> None:
    """Markup, emoji codes and tabs in a message are Alembic's plain text, not rich's."""
    message = "fix [bold]markup[/bold] :thumbs_up: and\ttabs"
    write(project / "migrations" / "versions", "a0a0a0a0a0a0", "708192a3b4c5", message=message)
    assert f"(head), {message}\n" in assert_same_output(project, "history")


def test_fast_commands_import_neither_sqlalchemy_nor_alembic(project: Path) -> None:
    for args in [("heads",), ("history",), ("branches",), ("current",), ("status",)]:
        completed = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "asyncmigrate", *args],
            cwd=project,
            env={**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{project / 'app.db'}"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert completed.returncode == 0, completed.stderr
        imported = {line.split("|")[-1].strip().split(".")[0] for line in completed.stderr.splitlines()}
        assert not imported & {"sqlalchemy", "alembic", "rich", "asyncio"}, args


def test_current_and_status_on_postgresql(project: Path, pg_url: str) -> None:
    """A plain asyncpg URL is read with asyncpg alone; errors go through the Migrator and read
    the same; other URLs are read through SQLAlchemy, still without Alembic."""
    for args in [("current",), ("status",)]:
        assert_same_output(project, *args, url=pg_url)
    assert run(project, "upgrade", "4d5e6f708192", fast=True, url=pg_url)[0] == 0
    for args in [("current",), ("current", "-v"), ("status",)]:
        assert_same_output(project, *args, url=pg_url)
    applied = next((project / "migrations" / "versions").glob("3c4d5e6f7081_*.py"))
    applied.write_text(applied.read_text() + "\n# edited\n")
    assert "was edited after it was applied" in assert_same_output(project, "status", url=pg_url)
    with_query = pg_url + "?ssl=disable"
    assert_same_output(project, "status", light=False, url=with_query)
    assert "alembic" not in run(project, "status", fast=True, url=with_query)[3].split(",")
    wrong_password = make_url(pg_url).set(password="wrong").render_as_string(hide_password=False)
    missing = make_url(pg_url).set(database="no_such_db").render_as_string(hide_password=False)
    refused = make_url(pg_url).set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
    # Errors: both commands take the one read path, so each error is asked of one of them.
    for url, command in [
        (wrong_password, "current"),
        (missing, "status"),
        (refused, "current"),
        ("mysql+aiomysql://u:p@127.0.0.1/app", "status"),
    ]:
        assert_same_output(project, command, light=False, url=url)


def test_version_table_in_another_schema_on_postgresql(project: Path, pg_url: str) -> None:
    async def create_schema() -> None:
        connection = await asyncpg_connect(pg_url)
        await connection.execute("CREATE SCHEMA ledger")
        await connection.close()

    asyncio.run(create_schema())
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", '[tool.asyncmigrate]\nversion_table_schema = "ledger"\n'
        )
    )
    assert_same_output(project, "status", url=pg_url)
    assert run(project, "upgrade", "heads", fast=True, url=pg_url)[0] == 0
    for args in [("current",), ("current", "-v"), ("status",)]:
        assert "708192a3b4c5" in assert_same_output(project, *args, url=pg_url), args
