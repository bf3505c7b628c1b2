"""What earlier revisions built, replayed so rules can judge the next one.

A linter that looks at one file alone cannot tell an existing table from a new one, a column
type before a change, or whether a ``CHECK (c IS NOT NULL)`` was validated two revisions ago
(which makes ``SET NOT NULL`` cheap on PostgreSQL 12+). Replaying the op calls and statements of
every earlier revision gives that knowledge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from .capture import OpCall
from .statements import Statement


@dataclass
class SchemaState:
    """Tables, column types and constraints known from the revisions replayed so far."""

    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    references: dict[str, set[str]] = field(default_factory=dict)
    partitioned: set[str] = field(default_factory=set)
    domains_with_check: set[str] = field(default_factory=set)
    not_null_checks: set[tuple[str, str]] = field(default_factory=set)
    unvalidated_checks: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (table, column) pairs the history made NOT NULL (create_table, add_column, alter_column).
    not_null: set[tuple[str, str]] = field(default_factory=set)

    def is_not_null(self, table: str, column: str) -> bool:
        """The replayed history left ``table.column`` NOT NULL (so SET NOT NULL changes nothing)."""
        return (table, column) in self.not_null

    def _nullability(self, table: str, column: str, nullable: bool | None) -> None:
        if nullable is False:
            self.not_null.add((table, column))
        elif nullable is True:
            self.not_null.discard((table, column))

    def copy(self) -> SchemaState:
        """A copy to replay part of a revision on, without touching this one."""
        return SchemaState(
            columns={table: dict(columns) for table, columns in self.columns.items()},
            references={table: set(children) for table, children in self.references.items()},
            partitioned=set(self.partitioned),
            domains_with_check=set(self.domains_with_check),
            not_null_checks=set(self.not_null_checks),
            unvalidated_checks=dict(self.unvalidated_checks),
            not_null=set(self.not_null),
        )

    def column_type(self, table: str, column: str) -> Any | None:
        return self.columns.get(table, {}).get(column)

    def referencing(self, table: str) -> set[str]:
        return {child for child in self.references.get(table, set()) if child != table}

    def apply(self, ops: Iterable[OpCall], statements: Iterable[Statement]) -> None:
        for call in ops:
            self._apply_op(call)
        for statement in statements:
            self._apply_statement(statement)

    def _apply_op(self, call: OpCall) -> None:
        table = call.batch_table
        if call.name == "create_table":
            name = call.arg(0, "table_name")
            items = [item for item in call.args[1:] if isinstance(item, (sa.Column, sa.Constraint))]
            self.columns[name] = {c.name: c.type for c in items if isinstance(c, sa.Column)}
            self.not_null = {key for key in self.not_null if key[0] != name}
            for item in items:
                if isinstance(item, sa.Column):
                    self._nullability(name, item.name, bool(item.nullable))
            for item in items:
                for target in referenced_tables(item):
                    self.references.setdefault(target, set()).add(name)
        elif call.name == "drop_table":
            name = call.arg(0, "table_name")
            self.columns.pop(name, None)
            self.not_null = {key for key in self.not_null if key[0] != name}
            for children in self.references.values():
                children.discard(name)
        elif call.name == "rename_table":
            old, new = call.arg(0, "old_table_name"), call.arg(1, "new_table_name")
            self.columns[new] = self.columns.pop(old, {})
            self.not_null = {(new if t == old else t, c) for t, c in self.not_null}
        elif call.name == "add_column":
            table = table or call.arg(0, "table_name")
            column = column_argument(call)
            if isinstance(column, sa.Column):
                self.columns.setdefault(table, {})[column.name] = column.type
                self._nullability(table, column.name, bool(column.nullable))
                for target in referenced_tables(column):
                    self.references.setdefault(target, set()).add(table)
        elif call.name == "drop_column":
            table = table or call.arg(0, "table_name")
            column_name = call.arg(0, "column_name") if call.batch_table else call.arg(1, "column_name")
            self.columns.get(table, {}).pop(column_name, None)
            self.not_null.discard((table, column_name))
        elif call.name == "alter_column":
            table = table or call.arg(0, "table_name")
            column_name = call.arg(0, "column_name") if call.batch_table else call.arg(1, "column_name")
            new_type = call.kwargs.get("type_")
            if new_type is not None:
                self.columns.setdefault(table, {})[column_name] = sa.types.to_instance(new_type)
            nullable = call.kwargs.get("nullable")
            self._nullability(table, column_name, nullable if isinstance(nullable, bool) else None)
            new_name = call.kwargs.get("new_column_name")
            if new_name:
                known = self.columns.setdefault(table, {})
                if column_name in known:
                    known[new_name] = known.pop(column_name)
                if (table, column_name) in self.not_null:
                    self.not_null.discard((table, column_name))
                    self.not_null.add((table, new_name))
        elif call.name == "create_foreign_key":
            source = table or call.arg(1, "source_table")
            referent = call.arg(1, "referent_table") if call.batch_table else call.arg(2, "referent_table")
            self.references.setdefault(referent, set()).add(source)

    def _apply_statement(self, statement: Statement) -> None:
        from . import pg

        node = statement.node
        if node is None:
            return
        kind = statement.kind
        if kind == "CreateStmt":
            if node.partspec is not None:
                self.partitioned.add(node.relation.relname)
            for element in node.tableElts or ():
                constraints = [element] if type(element).__name__ == "Constraint" else []
                for constraint in constraints:
                    column = pg.is_check(constraint) and pg.not_null_check_column(constraint)
                    if column:
                        self.not_null_checks.add((node.relation.relname, column))
        elif kind == "CreateDomainStmt" and any(pg.is_check(c) for c in node.constraints or ()):
            self.domains_with_check.add(pg.dotted(node.domainname)[-1])
        elif kind == "AlterTableStmt":
            table = node.relation.relname
            for cmd in node.cmds or ():
                constraint = pg.added_constraint(cmd)
                if constraint is not None and pg.is_check(constraint):
                    column = pg.not_null_check_column(constraint)
                    if column and constraint.skip_validation:
                        self.unvalidated_checks[(table, constraint.conname or "")] = column
                    elif column:
                        self.not_null_checks.add((table, column))
                elif pg.is_cmd(cmd, "AT_ValidateConstraint"):
                    column = self.unvalidated_checks.pop((table, cmd.name), None)
                    if column:
                        self.not_null_checks.add((table, column))


def column_argument(call: OpCall) -> Any:
    """The Column passed to ``add_column`` (``op.add_column(table, col)`` or ``batch_op.add_column(col)``)."""
    if call.batch_table:
        return call.arg(0, "column")
    return call.arg(1, "column")


def referenced_tables(item: Any) -> set[str]:
    """Tables a Column's ForeignKeys or a ForeignKeyConstraint point at (``[schema.]table.col``)."""
    if isinstance(item, sa.Column):
        return {fk.target_fullname.split(".")[-2] for fk in item.foreign_keys if "." in fk.target_fullname}
    if isinstance(item, sa.ForeignKeyConstraint):
        return {element.target_fullname.split(".")[-2] for element in item.elements}
    return set()
