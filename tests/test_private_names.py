"""Private names of other libraries are used only behind the fence, ``asyncmigrate/internals/``.

Every version we declare must keep working when such a name moves: SQLAlchemy 2.0 has no
``sqlalchemy.sql.ddl._TableViaSelect``, and importing it unguarded broke ``check`` and
``revision --autogenerate`` on every 2.0.x. So each use lives in one module per library under
``internals/``, checked once with a fallback to the public path (tests/test_fence.py runs each
fallback). This test fails when, anywhere else in ``src/asyncmigrate``:

* a private name (or a private module) of another library is imported;
* a private attribute is read or set (``x._name``, ``getattr(x, "_name")``) on anything but
  ``self``/``cls``, unless our own code (outside the fence) defines that name;
* a private name that the fence uses is touched at all (even one our code defines too), also as
  a string.

Inside the fence, private imports happen in functions only, so importing the fence never fails.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "asyncmigrate"
FENCE = SOURCE / "internals"
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
#: Underscored names that are public API, with the reason.
ALLOWED = {
    "_getframe": "sys._getframe: documented CPython API (lint/capture.py finds a revision's line)",
    "_exit": "os._exit: documented (cli/main.py ends a process past a revision's leftover threads)",
    "_replace": "namedtuple's documented API",
    "_asdict": "namedtuple's documented API",
    "_fields": "namedtuple's documented API",
    "_make": "namedtuple's documented API",
}
_ATTRIBUTE_CALLS = {"getattr", "setattr", "hasattr", "delattr"}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _files(inside_fence: bool) -> list[Path]:
    return [p for p in sorted(SOURCE.rglob("*.py")) if (FENCE in p.parents) == inside_fence]


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


def _on_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in {"self", "cls"}


def _private_uses(tree: ast.AST) -> Iterator[tuple[int, str, bool]]:
    """(line, name, on self/cls) for each private attribute access, ``getattr``-like call with a
    private name, and private string constant."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            yield node.lineno, node.attr, _on_self(node.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _ATTRIBUTE_CALLS
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _is_private(node.args[1].value)
        ):
            yield node.lineno, node.args[1].value, _on_self(node.args[0])


def _private_strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Private identifiers as string constants; a class's own ``__slots__`` define, not use."""
    slots = {
        id(c)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets)
        for c in ast.walk(node.value)
    }
    for node in ast.walk(tree):
        if id(node) in slots:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_private(node.value):
            if node.value.isidentifier():
                yield node.lineno, node.value


def _defined_names(trees: list[ast.AST]) -> set[str]:
    """Names our own code defines: functions, classes, variables, arguments, imports, attributes
    set on self/cls, ``__slots__`` entries."""
    defined: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _on_self(node.value):
                defined.add(node.attr)
            elif isinstance(node, ast.arg):
                defined.add(node.arg)
            elif isinstance(node, ast.alias) and node.name.split(".")[0] not in OTHER_LIBRARIES:
                defined.add(node.asname or node.name.split(".")[-1])
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
            ):
                defined.update(
                    c.value
                    for c in ast.walk(node.value)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                )
    return defined


def _fence_names() -> set[str]:
    """The private names of other libraries the fence touches."""
    names: set[str] = set()
    for path in _files(inside_fence=True):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names.update(name for _, name, on_self in _private_uses(tree) if not on_self)
        names.update(name for _, name in _private_strings(tree))
        for node in _private_imports(tree):
            if isinstance(node, ast.ImportFrom):
                names.update(a.name for a in node.names if _is_private(a.name))
    own = _defined_names([ast.parse(p.read_text(encoding="utf-8")) for p in _files(inside_fence=True)])
    return {name for name in names if name not in own or name in {"_update_version", "_proxy"}}


def offences(sources: dict[str, str], fence_names: set[str]) -> list[str]:
    trees = {where: ast.parse(text) for where, text in sources.items()}
    defined = _defined_names(list(trees.values())) - fence_names
    found = []
    for where, tree in trees.items():
        for node in _private_imports(tree):
            found.append(f"{where}:{node.lineno}: import of a private name: {ast.unparse(node)}")
        for line, name, on_self in _private_uses(tree):
            if name in ALLOWED or on_self:
                continue
            if name in fence_names or name not in defined:
                found.append(f"{where}:{line}: private attribute of another library: {name}")
        for line, name in _private_strings(tree):
            if name in fence_names:
                found.append(f"{where}:{line}: private name of another library as a string: {name!r}")
    return found


def test_private_names_of_other_libraries_only_behind_the_fence() -> None:
    sources = {str(p.relative_to(SOURCE)): p.read_text(encoding="utf-8") for p in _files(inside_fence=False)}
    found = offences(sources, _fence_names())
    assert not found, "move these into asyncmigrate/internals/ (with a check and a fallback):\n" + "\n".join(
        found
    )


def test_the_fence_imports_private_names_only_inside_functions() -> None:
    """Importing ``asyncmigrate.internals.*`` never fails on another version of a library."""
    at_module_level = []
    for path in _files(inside_fence=True):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for found in _private_imports(node):
                at_module_level.append(f"{path.relative_to(SOURCE)}:{found.lineno}: {ast.unparse(found)}")
    assert not at_module_level


def test_the_check_sees_each_kind_of_use() -> None:
    fence = {"_update_version"}
    ours = "class Ours:\n    def __init__(self):\n        self._mine = 1\n"
    bad = {
        "a.py": "from sqlalchemy.sql.ddl import _TableViaSelect\n",
        "b.py": "import rich._emoji_codes\n",
        "c.py": "def f(inspector):\n    return inspector._reflect_column\n",
        "d.py": "def f(cursor):\n    return getattr(cursor, '_rowcount', None)\n",
        "e.py": "def f(maintainer):\n    maintainer._update_version('a', 'b')\n",
        "f.py": "KEY = '_update_version'\n",
    }
    for where, text in bad.items():
        assert offences({where: text, "ours.py": ours}, fence), where
    good = {
        "ours.py": ours,
        "g.py": "def f(other):\n    return other._mine\n",  # our own attribute, on another object
        "h.py": "import sys\nframe = sys._getframe(1)\n",
        "i.py": "class A:\n    def f(self):\n        return self._private\n",
    }
    assert offences(good, fence) == []
