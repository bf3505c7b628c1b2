"""The rule catalogue: one module per rule, each exporting ``RULE``, its docstring the rule's
documentation (``asyncmigrate lint --explain ID``, docs/lint-rules.md).

A rule is a function from a :class:`RevisionContext` to hits. Its id is the canonical id of the
reference catalogue (stable: it is what users write in ``ignore[...]`` and config), its severity
the default a project may override.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cache

from ..capture import OpCall
from ..context import RevisionContext
from ..model import DIALECTS, Severity
from ..statements import Statement

ALL_DIALECTS = frozenset(DIALECTS)
POSTGRESQL = frozenset({"postgresql"})
MYSQL = frozenset({"mysql", "mariadb"})
SQLITE = frozenset({"sqlite"})


@dataclass(frozen=True)
class Hit:
    """A rule's verdict on one statement or op call: what is wrong and what to write instead."""

    message: str
    recipe: str
    statement: Statement | None = None
    op: OpCall | None = None
    #: Where neither an op call nor a statement is to blame (the revision's own code raised).
    source_line: int | None = None

    @property
    def line(self) -> int | None:
        if self.op is not None and self.op.line is not None:
            return self.op.line
        if self.statement is not None:
            return self.statement.line
        return self.source_line


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    dialects: frozenset[str]
    check: Callable[[RevisionContext], Iterable[Hit]]
    enabled_by_default: bool = True
    #: Where the catalogue lists it (one of ``GROUPS``).
    group: str = field(kw_only=True)
    #: The rule's documentation: its module's docstring, filled in by :func:`all_rules`.
    doc: str = ""
    module: str = ""

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"lint rule {self.id}: unknown group {self.group!r}")

    @property
    def sections(self) -> dict[str, str]:
        """The docstring's ``## What it flags`` / ``## Why`` / ``## Example`` / ``## Fix`` parts."""
        return doc_sections(self.doc)


#: The catalogue's groups, in the order ``--list-rules`` and docs/lint-rules.md show them.
GROUPS = (
    "PostgreSQL: locks and rewrites",
    "Transaction mode",
    "Backward compatibility",
    "Data dependent",
    "MySQL / MariaDB",
    "SQLite batch mode",
    "Operational hygiene",
    "History",
)

#: The sections every rule's docstring has, in this order (Ruff's rule docs are the model).
SECTIONS = ("What it flags", "Why", "Example", "Fix")


def doc_sections(doc: str) -> dict[str, str]:
    """``## Title`` sections of a docstring, title -> body (text before the first is dropped)."""
    sections: dict[str, str] = {}
    title: str | None = None
    lines: list[str] = []
    in_code = False
    for line in doc.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            if title is not None:
                sections[title] = "\n".join(lines).strip()
            title, lines = line[3:].strip(), []
        elif title is not None:
            lines.append(line)
    if title is not None:
        sections[title] = "\n".join(lines).strip()
    return sections


def per_dialect(
    *,
    postgresql: Callable[[RevisionContext], Iterable[Hit]] | None = None,
    mysql: Callable[[RevisionContext], Iterable[Hit]] | None = None,
    sqlite: Callable[[RevisionContext], Iterable[Hit]] | None = None,
) -> tuple[frozenset[str], Callable[[RevisionContext], Iterable[Hit]]]:
    """The dialects and check of a rule judged differently per database (MariaDB as MySQL)."""
    checks = {"postgresql": postgresql, "mysql": mysql, "mariadb": mysql, "sqlite": sqlite}
    dialects = frozenset(name for name, function in checks.items() if function is not None)

    def check(ctx: RevisionContext) -> Iterable[Hit]:
        function = checks.get(ctx.dialect)
        return function(ctx) if function is not None else ()

    return dialects, check


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule, in catalogue order (group, then id): each module of this package is one rule.

    A rule registers itself by being a module here that defines ``RULE``; its documentation is
    that module's docstring. There is no list to keep up to date, and a module without ``RULE``
    stops the import with its name rather than silently not linting.
    """
    found: list[Rule] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            raise ImportError(f"lint rule module {module.__name__} defines no RULE = Rule(...)")
        found.append(replace(rule, doc=inspect.getdoc(module) or "", module=module.__name__))
    ids = [rule.id for rule in found]
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise ImportError(f"lint rule id(s) defined twice: {', '.join(duplicates)}")
    return tuple(sorted(found, key=lambda rule: (GROUPS.index(rule.group), rule.id)))


def rule_by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in all_rules()}
