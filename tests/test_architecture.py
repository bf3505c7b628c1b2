"""ARCHITECTURE.md stays true: every file and module it names exists, and every database module
in dialects/ is listed there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "asyncmigrate"
TEXT = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
#: `path/like.py`, `tests/x.py`, `dialects/` in backticks; placeholders (<name>) are skipped
NAMED = sorted(set(re.findall(r"`([\w./-]+(?:\.py|\.md|/))`", TEXT)))


#: names of things, not paths of ours: the env.py a project has
CONCEPTS = {"env.py"}


def _exists(name: str) -> bool:
    bases = (ROOT, ROOT / "tests", PACKAGE, PACKAGE / "dialects")
    return name in CONCEPTS or any((base / name).exists() for base in bases)


def test_every_named_file_exists() -> None:
    assert NAMED, "no file names found: the pattern no longer matches the page"
    missing = [name for name in NAMED if not _exists(name)]
    assert not missing, f"ARCHITECTURE.md names files that do not exist: {missing}"


def test_every_database_module_is_named() -> None:
    modules = sorted(p.name for p in (PACKAGE / "dialects").glob("*.py") if p.name != "__init__.py")
    assert modules
    for module in modules:
        assert f"`{module}`" in TEXT or f"dialects/{module}" in TEXT, module


def test_every_module_is_named() -> None:
    """The package table is the map a newcomer reads: a module missing from it is a module
    nobody finds. (Lint rules are one file each under lint/rules/, named by their own page.)"""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if path.name in ("__init__.py", "__main__.py") or relative.startswith("lint/rules/"):
            continue
        if f"`{relative}`" not in TEXT:
            missing.append(relative)
    assert not missing, f"ARCHITECTURE.md does not name these modules: {missing}"
