"""Read a revision file's identity without running it.

Alembic imports every revision module to learn ``revision``, ``down_revision``,
``branch_labels``, ``depends_on`` and the docstring; that import (and the SQLAlchemy it pulls
in) is most of what ``alembic history`` costs. Here the file is parsed with :mod:`ast` instead.
Only plain literal assignments at module level are trusted: a file that could set one of those
names any other way (computed, imported, in a branch, through ``globals()``) is reported as
:class:`NotStatic`, and the caller lets Alembic import it as before.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass

#: The module attributes Alembic reads, plus what could change the docstring or the lookups.
KEYS = ("revision", "down_revision", "branch_labels", "depends_on")
_GUARDED = frozenset((*KEYS, "__doc__", "__getattr__", "__dict__"))
#: Calls that can bind module names behind the parser's back.
_DYNAMIC_CALLS = frozenset(("globals", "vars", "locals", "exec", "eval", "setattr", "__import__"))


class NotStatic(Exception):
    """The file's revision attributes cannot be known without running it."""


@dataclass(frozen=True)
class RevisionFile:
    """What Alembic's ``Script`` would read from the module, found statically."""

    revision: str
    down_revision: str | tuple[str, ...] | None
    branch_labels: str | tuple[str, ...] | None
    depends_on: str | tuple[str, ...] | None
    #: ``module.__doc__`` exactly as the interpreter would set it (None without a docstring).
    doc: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "revision": self.revision,
            "down_revision": _jsonable(self.down_revision),
            "branch_labels": _jsonable(self.branch_labels),
            "depends_on": _jsonable(self.depends_on),
            "doc": self.doc,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> RevisionFile:
        return cls(
            revision=str(data["revision"]),
            down_revision=_from_jsonable(data["down_revision"]),
            branch_labels=_from_jsonable(data["branch_labels"]),
            depends_on=_from_jsonable(data["depends_on"]),
            doc=data["doc"] if isinstance(data["doc"], str) else None,
        )


def _jsonable(value: str | tuple[str, ...] | None) -> str | list[str] | None:
    return list(value) if isinstance(value, tuple) else value


def _from_jsonable(value: object) -> str | tuple[str, ...] | None:
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return value if isinstance(value, str) else None


def checksum(data: bytes) -> str:
    """sha256 with line endings normalised: the same value the history table records."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def parse_revision(data: bytes, filename: str) -> RevisionFile:
    """The revision attributes of the file's source ``data``; :class:`NotStatic` if unsure."""
    try:
        tree = ast.parse(data, filename)
    except (SyntaxError, ValueError) as exc:  # Alembic's import reports it properly
        raise NotStatic(f"{filename}: cannot be parsed: {exc}") from exc
    values = _literal_assignments(tree, filename)
    _reject_other_bindings(tree, values, filename)
    if "revision" not in values or not isinstance(values["revision"][0], str):
        raise NotStatic(f"{filename}: no literal string 'revision'")
    if "down_revision" not in values:
        raise NotStatic(f"{filename}: no 'down_revision'")
    return RevisionFile(
        revision=values["revision"][0],
        down_revision=values["down_revision"][0],
        branch_labels=values["branch_labels"][0] if "branch_labels" in values else None,
        depends_on=values["depends_on"][0] if "depends_on" in values else None,
        doc=_module_doc(tree, filename),
    )


RevisionValue = str | tuple[str, ...] | None


def _literal(node: ast.expr | None, filename: str) -> RevisionValue:
    """None, a string, or a tuple/list of strings (what Alembic's ``to_tuple`` keeps in order)."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)) and all(
        isinstance(item, ast.Constant) and isinstance(item.value, str) for item in node.elts
    ):
        return tuple(item.value for item in node.elts)  # type: ignore[attr-defined]
    raise NotStatic(f"{filename}: a revision attribute is not a literal")


def _literal_assignments(tree: ast.Module, filename: str) -> dict[str, tuple[RevisionValue, ast.stmt]]:
    """``name = <literal>`` / ``name: T = <literal>`` directly in the module body, once each."""
    found: dict[str, tuple[RevisionValue, ast.stmt]] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None and statement.simple:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in KEYS:
            if target.id in found:
                raise NotStatic(f"{filename}: {target.id} is assigned more than once")
            found[target.id] = (_literal(value, filename), statement)
    return found


def _reject_other_bindings(
    tree: ast.Module, accepted: dict[str, tuple[RevisionValue, ast.stmt]], filename: str
) -> None:
    """Any way, other than the accepted assignments, in which the guarded names could be set."""
    accepted_targets = {
        id(statement.targets[0] if isinstance(statement, ast.Assign) else statement.target)  # type: ignore[attr-defined]
        for _, statement in accepted.values()
    }

    def fail(what: str) -> None:
        raise NotStatic(f"{filename}: {what}")

    def visit(node: ast.AST, module_scope: bool) -> None:
        if isinstance(node, (ast.Global, ast.Nonlocal)) and _GUARDED.intersection(node.names):
            fail("declares a revision attribute global")
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            fail("star import")
        if isinstance(node, ast.Name):
            if node.id in _DYNAMIC_CALLS:
                fail(f"uses {node.id}()")
            if module_scope and not isinstance(node.ctx, ast.Load) and node.id in _GUARDED:
                if id(node) not in accepted_targets:
                    fail(f"binds {node.id} dynamically")
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load) and node.attr in _GUARDED:
            fail(f"sets .{node.attr}")
        if isinstance(node, ast.Attribute) and node.attr in ("modules", "__dict__"):
            fail(f"uses .{node.attr}")
        if module_scope:
            bound: list[str | None] = []
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bound = [alias.asname or alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound = [node.name]
            elif isinstance(node, ast.ExceptHandler):
                bound = [node.name]
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)):
                bound = [node.name]
            elif isinstance(node, ast.MatchMapping):
                bound = [node.rest]
            if _GUARDED.intersection(name for name in bound if name):
                fail("binds a revision attribute by import, def, class, except or match")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            # A new scope: names bound inside are not the module's, but decorators, defaults
            # and bases are evaluated here.
            inner = [*node.body] if not isinstance(node, ast.Lambda) else [node.body]
            for child in ast.iter_child_nodes(node):
                visit(child, module_scope and child not in inner)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, module_scope)

    visit(tree, True)


def _module_doc(tree: ast.Module, filename: str) -> str | None:
    """``module.__doc__`` as the running interpreter sets it: Python 3.13 dedents docstrings at
    compile time, so the docstring statement alone is compiled and run."""
    if not tree.body or ast.get_docstring(tree, clean=False) is None:
        return None
    namespace: dict[str, object] = {}
    code = compile(ast.Module(body=[tree.body[0]], type_ignores=[]), filename, "exec")
    exec(code, namespace)  # only the docstring statement: it binds __doc__, nothing else
    doc = namespace.get("__doc__")
    return doc if isinstance(doc, str) else None
