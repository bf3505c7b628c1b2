"""The rule catalogue: one module per rule, each exporting ``RULE``.

A rule is a function from a :class:`RevisionContext` to hits. Its id is the canonical id of the
reference catalogue (stable: it is what users write in ``ignore[...]`` and config), its severity
the default a project may override.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from ..capture import OpCall
from ..context import RevisionContext
from ..model import Severity
from ..statements import Statement

ALL_DIALECTS = frozenset({"postgresql", "mysql", "mariadb", "sqlite"})
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


RULE_MODULES = (
    # A. PostgreSQL: locks and rewrites
    "index_not_concurrent",
    "drop_index_not_concurrent",
    "reindex_not_concurrent",
    "add_column_default_rewrite",
    "add_column_generated_stored",
    "add_column_auto_increment",
    "add_column_domain_with_check",
    "set_not_null",
    "column_type_change",
    "add_check_validated",
    "add_foreign_key_validated",
    "validate_in_same_transaction",
    "add_unique_constraint",
    "add_primary_key",
    "add_exclusion_constraint",
    "detach_partition_not_concurrent",
    "table_rewrite_maintenance",
    "index_concurrently_on_partitioned",
    "trigger_creation_lock",
    "backfill_in_ddl_transaction",
    "enum_value_used_same_transaction",
    # B. transaction mode
    "concurrently_in_transaction",
    "nested_or_unclosed_transaction",
    "index_build_corruption_pg14",
    # C. backward compatibility
    "drop_column",
    "drop_column_still_mapped",
    "drop_table",
    "drop_schema",
    "rename_column",
    "rename_table",
    "rename_object",
    "drop_not_null",
    "drop_constraint",
    "drop_other_object",
    "contract_change",
    "add_column_required",
    "truncate_cascade",
    # D. data dependent
    "unique_index_may_fail",
    # E. MySQL / MariaDB
    "mysql_copy_algorithm",
    "mysql_lock_option",
    "mysql_inline_references_ignored",
    "mysql_enum_set_copy",
    "mysql_rebuild_ops",
    "mysql_set_not_null_non_strict",
    # F. SQLite batch mode
    "sqlite_batch_referenced_table",
    # G. operational hygiene
    "missing_lock_timeout",
    "missing_statement_timeout",
    "non_idempotent_ddl",
    "raw_sql_uninspected",
    # I. history
    "non_linear_history",
    "destructive_without_check",
    "empty_downgrade",
)


@cache
def all_rules() -> tuple[Rule, ...]:
    return tuple(importlib.import_module(f"{__name__}.{name}").RULE for name in RULE_MODULES)


def rule_by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in all_rules()}
