"""A private name of another library is imported only behind a fallback.

Every version we declare must keep working when such a name moves: SQLAlchemy 2.0 has no
``sqlalchemy.sql.ddl._TableViaSelect``, and importing it unguarded broke ``check`` and
``revision --autogenerate`` on every 2.0.x. This test fails when an import of a private name (or
of a private module) of another library is not inside a ``try`` that catches ``ImportError``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "asyncmigrate"
OTHER_LIBRARIES = (
    "alembic",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "asyncmy",
    "rich",
    "click",
    "pglast",
    "mako",
)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_imports(tree: ast.AST) -> list[ast.ImportFrom | ast.Import]:
    found: list[ast.ImportFrom | ast.Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] in OTHER_LIBRARIES and (
                any(_is_private(p) for p in parts) or any(_is_private(a.name) for a in node.names)
            ):
                found.append(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in OTHER_LIBRARIES and any(_is_private(p) for p in parts):
                    found.append(node)
    return found


def _guarded(tree: ast.AST, target: ast.stmt) -> bool:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try) or not any(target is n for b in node.body for n in ast.walk(b)):
            continue
        for handler in node.handlers:
            caught = handler.type
            names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
            if caught is None or any(getattr(n, "id", "") in {"ImportError", "Exception"} for n in names):
                return True
    return False


def test_private_imports_have_a_fallback() -> None:
    unguarded = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _private_imports(tree):
            if not _guarded(tree, node):
                unguarded.append(f"{path.relative_to(SOURCE)}:{node.lineno}: {ast.unparse(node)}")
    assert not unguarded, "private names imported without an ImportError fallback:\n" + "\n".join(unguarded)


def test_the_check_sees_an_unguarded_import() -> None:
    tree = ast.parse("from sqlalchemy.sql.ddl import _TableViaSelect\n")
    assert [n.lineno for n in _private_imports(tree) if not _guarded(tree, n)] == [1]
    guarded = ast.parse("try:\n    from sqlalchemy.sql.ddl import _X\nexcept ImportError:\n    _X = None\n")
    assert [n for n in _private_imports(guarded) if not _guarded(guarded, n)] == []
