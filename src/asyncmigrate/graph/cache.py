"""The revision-graph cache: each revision file parsed once, until it changes.

``load_graph`` lists the version directories exactly as Alembic's ``ScriptDirectory`` does
(``version_locations``, ``recursive_version_locations``, the same file filter, the same order),
then takes each file's revision attributes from ``<script_location>/__pycache__/
asyncmigrate-graph.json``. An entry is trusted while the file's size, mtime, ctime and inode are
unchanged; otherwise the file is read and its content hash compared, and only a file whose
content changed is parsed again (:mod:`asyncmigrate.graph.files`). Like git's index, an entry written
less than :data:`RACY_NS` after its file changed is re-hashed on the next run, since a second
write within the filesystem's timestamp granularity leaves the stat data unchanged.

The cache is written atomically (a temporary file, then ``os.replace``) and only when something
changed; a cache that cannot be read or written is simply rebuilt or skipped. Whatever this
module cannot reproduce faithfully (``sourceless``, package-resource locations, a revision file
that cannot be read statically, ``python -OO``) raises :class:`GraphUnavailable`.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Settings, _read_toml
from .files import NotStatic, RevisionFile, checksum, parse_revision
from .revisions import GraphUnavailable, RevisionGraph, node_for

CACHE_NAME = "asyncmigrate-graph.json"
CACHE_FORMAT = 1
#: An entry whose file changed this close to the cache write is re-hashed next time.
RACY_NS = 2_000_000_000
#: ``ScriptDirectory``'s filter for revision files (``_only_source_rev_file``).
_SOURCE_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}
#: Set (to anything but 0) to skip the cache and run every read-only command through Alembic.
DISABLE_ENV = "ASYNCMIGRATE_NO_GRAPH_CACHE"


@dataclass(frozen=True)
class GraphLocations:
    """Where Alembic would look for revision files for these settings."""

    script_dir: Path
    version_locations: tuple[Path, ...]
    recursive: bool

    @property
    def cache_file(self) -> Path:
        return self.script_dir / "__pycache__" / CACHE_NAME


def fast_path_enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "0") in ("", "0")


def load_graph(settings: Settings) -> RevisionGraph:
    """The project's revision graph from the cache, refreshed for files that changed."""
    if not fast_path_enabled():
        raise GraphUnavailable(f"{DISABLE_ENV} is set")
    if sys.flags.optimize >= 2:
        raise GraphUnavailable("python -OO strips the docstrings Alembic shows")
    return build_graph(graph_locations(settings))


def build_graph(locations: GraphLocations) -> RevisionGraph:
    """The graph of the revision files at ``locations``, through the cache."""
    files = list_revision_files(locations)
    cache = RevisionCache(locations.cache_file)
    nodes = []
    unreadable: list[str] = []
    for path in files:
        entry = cache.entry(path)
        if entry.parsed is None:
            unreadable.append(entry.reason or str(path))
        else:
            nodes.append(node_for(path, entry.parsed, entry.checksum))
    cache.save(keep=files)
    if unreadable:
        raise GraphUnavailable(f"not readable without running it: {unreadable[0]}")
    return RevisionGraph(nodes)


# -- where the revision files are -------------------------------------------------------------


def graph_locations(settings: Settings) -> GraphLocations:
    """``ScriptDirectory.from_config`` for the Alembic ``Config`` that ``Runner`` builds."""
    if not settings.script_location.is_dir():
        raise GraphUnavailable("no migrations directory")
    if settings.alembic_ini is not None:
        return _ini_locations(settings.alembic_ini)
    options: dict[str, Any] = {}
    toml_args: dict[str, str] = {}
    if settings.pyproject is not None and settings.pyproject.is_file():
        alembic_table = _read_toml(settings.pyproject).get("tool", {}).get("alembic", {})
        if not isinstance(alembic_table, dict):
            raise GraphUnavailable("[tool.alembic] is not a table")
        options = alembic_table
        toml_args = {"here": settings.pyproject.absolute().parent.as_posix()}
    if _toml_flag(options, "sourceless"):
        raise GraphUnavailable("sourceless revisions")
    recursive = _toml_flag(options, "recursive_version_locations")
    raw = options.get("version_locations")
    if raw is not None and not (isinstance(raw, list) and all(isinstance(item, str) for item in raw)):
        raise GraphUnavailable("version_locations is not a list of strings")
    try:
        locations = [item % toml_args for item in raw or []]
    except (KeyError, ValueError, TypeError) as exc:
        raise GraphUnavailable(f"version_locations: {exc}") from exc
    return _locations(settings.script_location, locations, recursive)


def _toml_flag(options: dict[str, Any], name: str) -> bool:
    value = options.get(name, False)
    if not isinstance(value, bool):
        raise GraphUnavailable(f"{name} is not a boolean")
    return value


def _ini_locations(ini: Path) -> GraphLocations:
    parser = configparser.ConfigParser({"here": ini.absolute().parent.as_posix()})
    try:
        parser.read(ini)
        section = dict(parser.items("alembic"))
    except (configparser.Error, OSError) as exc:
        raise GraphUnavailable(f"{ini}: {exc}") from exc
    if section.get("sourceless") == "true":
        raise GraphUnavailable("sourceless revisions")
    raw = section.get("version_locations")
    locations: list[str] = []
    if raw:
        if "path_separator" not in section:  # Alembic warns (deprecated settings): let it
            raise GraphUnavailable("version_locations without path_separator")
        separator = _SEPARATORS.get(section["path_separator"])
        if separator is None:
            raise GraphUnavailable("unknown path_separator")
        locations = [item.strip() for item in raw.split(separator) if item]
    script_location = section.get("script_location", "")
    return _locations(
        _filesystem_path(script_location), locations, section.get("recursive_version_locations") == "true"
    )


def _filesystem_path(location: str) -> Path:
    if not os.path.isabs(location) and ":" in location:
        raise GraphUnavailable("package resource location")
    return Path(location)


def _locations(script_dir: Path, locations: list[str], recursive: bool) -> GraphLocations:
    if not script_dir.is_dir():
        raise GraphUnavailable("no script directory")
    if locations:
        paths = tuple(_filesystem_path(location).absolute() for location in locations)
    else:
        paths = (Path(script_dir, "versions").absolute(),)
    return GraphLocations(script_dir.absolute(), paths, recursive)


def list_revision_files(locations: GraphLocations) -> list[Path]:
    """The revision files, resolved, in the order ``ScriptDirectory._load_revisions`` loads them."""
    found: list[Path] = []
    seen: set[Path] = set()
    for location in locations.version_locations:
        if location.exists():
            _walk(location, locations.recursive, found, seen)
    return found


#: ``os.walk`` (before 3.12) puts symlinks to directories among the directories; ``Path.walk``
#: (3.12 on, which Alembic uses there) puts them among the files.
_DIRS_FOLLOW_LINKS = sys.version_info < (3, 12)


def _walk(root: Path, recursive: bool, found: list[Path], seen: set[Path]) -> None:
    try:
        with os.scandir(root) as listing:
            entries = list(listing)
    except OSError:
        return
    files: dict[str, os.DirEntry[str]] = {}
    dirs: list[str] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=_DIRS_FOLLOW_LINKS)
        except OSError:
            is_dir = False
        if is_dir:
            dirs.append(entry.name)
        else:
            files[entry.name] = entry
    skip_files = root.name.endswith("__pycache__")
    if not skip_files:
        real_root = Path(os.path.realpath(root))
        for name in sorted(files):
            entry = files[name]
            real = Path(os.path.realpath(entry.path)) if entry.is_symlink() else real_root / name
            if real in seen:
                raise GraphUnavailable(f"file {real} loaded twice")  # Alembic warns
            seen.add(real)
            if _SOURCE_FILE.match(real.name):
                found.append(real)
        if not recursive:
            return
        dirs.sort()
    for name in dirs:
        child = root / name
        if _DIRS_FOLLOW_LINKS and child.is_symlink():
            continue  # os.walk does not descend into them
        _walk(child, recursive, found, seen)


# -- the cache file ---------------------------------------------------------------------------


@dataclass
class Entry:
    """One revision file: its stat key, content hash and parsed attributes."""

    stat: list[int]
    checksum: str
    parsed: RevisionFile | None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "stat": self.stat,
            "sha256": self.checksum,
            "revision": self.parsed.as_json() if self.parsed else None,
            "reason": self.reason,
        }


class RevisionCache:
    """The JSON file of entries keyed by path; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started_ns = time.time_ns()
        self.dirty = False
        self.entries: dict[str, Entry] = {}
        self.written_ns = 0
        self._checksums: dict[str, Entry] | None = None
        self._load()

    def _header(self) -> dict[str, Any]:
        return {"format": CACHE_FORMAT, "asyncmigrate": __version__, "python": list(sys.version_info[:2])}

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_bytes())
            if any(data.get(key) != value for key, value in self._header().items()):
                raise ValueError("another format or interpreter")
            self.written_ns = int(data["written_ns"])
            for path, raw in data["files"].items():
                parsed = RevisionFile.from_json(raw["revision"]) if raw["revision"] else None
                self.entries[path] = Entry(
                    [int(v) for v in raw["stat"]], str(raw["sha256"]), parsed, raw["reason"]
                )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.entries = {}
            self.dirty = True

    def entry(self, path: Path) -> Entry:
        """The entry for ``path``, refreshed if the file changed."""
        try:
            info = os.stat(path)
        except OSError as exc:
            raise GraphUnavailable(f"{path}: {exc}") from exc
        stat = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        key = str(path)
        cached = self.entries.get(key)
        if cached is not None and cached.stat == stat and max(stat[1], stat[2]) + RACY_NS < self.written_ns:
            return cached
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise GraphUnavailable(f"{path}: {exc}") from exc
        digest = checksum(data)
        known = cached if cached is not None and cached.checksum == digest else self._by_checksum(digest)
        if known is not None:  # touched, renamed or copied: same content, same answer
            fresh = Entry(stat, digest, known.parsed, known.reason)
        else:
            try:
                fresh = Entry(stat, digest, parse_revision(data, key))
            except NotStatic as exc:
                fresh = Entry(stat, digest, None, str(exc))
        self.entries[key] = fresh
        self.dirty = True
        return fresh

    def _by_checksum(self, digest: str) -> Entry | None:
        if self._checksums is None:
            self._checksums = {entry.checksum: entry for entry in self.entries.values()}
        return self._checksums.get(digest)

    def save(self, keep: list[Path]) -> None:
        """Drop entries of files that are gone, then write the file if anything changed."""
        wanted = {str(path) for path in keep}
        if set(self.entries) - wanted:
            self.entries = {key: value for key, value in self.entries.items() if key in wanted}
            self.dirty = True
        if not self.dirty:
            return
        document = {
            **self._header(),
            "written_ns": self.started_ns,
            "files": {key: entry.as_json() for key, entry in self.entries.items()},
        }
        import tempfile

        try:
            self.path.parent.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=CACHE_NAME, suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(document, out, separators=(",", ":"))
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a read-only checkout: the next run parses again, nothing worse
