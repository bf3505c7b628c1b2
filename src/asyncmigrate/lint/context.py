"""What a rule sees of one revision: its statements, its op calls, and the schema before it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa

from . import pg
from .capture import Capture, OpCall
from .state import SchemaState
from .statements import ParsedStatement, Statement


@dataclass
class RevisionContext:
    """One revision, rendered, with the knowledge needed to judge it."""

    dialect: str
    version: tuple[int, ...]
    capture: Capture
    statements: list[Statement]
    state: SchemaState
    metadata: sa.MetaData | None = None
    lock_timeout_configured: bool = True
    statement_timeout_configured: bool = True
    created: dict[str, int] = field(default_factory=dict)
    #: The revision file's text, and which of its functions this is ("upgrade" or "downgrade").
    source: str = ""
    direction: str = "upgrade"

    def __post_init__(self) -> None:
        for call in self.capture.ops:
            if call.name == "create_table" and call.batch_table is None:
                key = self._key(call.arg(0, "table_name"), call.kwargs.get("schema"))
                self.created.setdefault(key, call.seq)
        for statement in self.statements:
            relation = pg.created_relation(statement.node)
            if relation is not None:
                self.created.setdefault(self._key(relation, None), statement.seq)

    def state_before(self, seq: int) -> SchemaState:
        """The schema as this revision left it just before ``seq``: the replayed history plus
        its own earlier op calls (a column it added, a table or column it renamed)."""
        earlier = [call for call in self.capture.ops if call.seq < seq]
        if not earlier:
            return self.state
        state = self.state.copy()
        state.apply(earlier, ())
        return state

    def _key(self, table: Any, schema: str | None) -> str:
        """``schema.table`` with the default schema filled in, so app.users != public.users."""
        if hasattr(table, "relname"):
            schema, table = table.schemaname or schema, table.relname
        elif isinstance(table, str) and "." in table and schema is None:
            schema, table = table.split(".", 1)
        default = "public" if self.dialect == "postgresql" else ""
        return f"{schema or default}.{table}"

    @property
    def ops(self) -> list[OpCall]:
        return self.capture.ops

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def version_at_least(self, *version: int) -> bool:
        return self.version >= version

    def is_new_table(self, table: Any, seq: int, schema: str | None = None) -> bool:
        """Created earlier in this same revision (so empty and unused: no lock matters).

        ``table`` is a name (``"users"``, ``"app.users"``) or a parsed relation (RangeVar)."""
        if table is None:
            return False
        key = self._key(table, schema)
        return key in self.created and self.created[key] <= seq

    def parsed(self, *kinds: str) -> Iterator[ParsedStatement]:
        """The statements pglast parsed (of ``kinds``, when given)."""
        for statement in self.statements:
            if statement.node is not None and (not kinds or statement.kind in kinds):
                yield cast(ParsedStatement, statement)

    def alter_commands(self) -> Iterator[tuple[ParsedStatement, Any]]:
        """Each ``ALTER TABLE`` sub-command of a table that existed before this revision."""
        for statement in self.parsed("AlterTableStmt"):
            if not self.is_new_table(statement.node.relation, statement.seq):
                for cmd in pg.alter_commands(statement.node):
                    yield statement, cmd

    def calls(self, *names: str) -> Iterator[OpCall]:
        for call in self.ops:
            if call.name in names:
                yield call

    def model_table(self, table: str) -> sa.Table | None:
        """The current models' definition of ``table`` (None: no models, or not mapped)."""
        if self.metadata is None:
            return None
        return next((mapped for mapped in self.metadata.tables.values() if mapped.name == table), None)

    def model_column(self, table: str, column: str) -> sa.Column[Any] | None:
        """The current models' definition of ``table.column``, if they map it."""
        mapped = self.model_table(table)
        return mapped.columns[column] if mapped is not None and column in mapped.columns else None

    def python_default_only(self, table: str, column: sa.Column[Any] | str) -> bool:
        """A ``default=`` that lives only in Python (the op's Column or the model's)."""
        name = column if isinstance(column, str) else column.name
        candidates: list[sa.Column[Any] | None] = [] if isinstance(column, str) else [column]
        candidates.append(self.model_column(table, name))
        return any(c is not None and c.default is not None and c.server_default is None for c in candidates)

    def mapped_columns(self, table: str) -> set[str] | None:
        """Column names the project's current models map on ``table`` (None: not mapped)."""
        mapped = self.model_table(table)
        return {column.name for column in mapped.columns} if mapped is not None else None


def table_of(call: OpCall, position: int = 0, keyword: str = "table_name") -> str:
    """The table an op call acts on, for ``op.x(table, ...)`` and ``batch_op.x(...)`` alike."""
    return call.batch_table or call.arg(position, keyword)


def column_name_of(call: OpCall) -> str:
    """The column an ``alter_column``/``drop_column`` call names."""
    name: str = call.arg(0, "column_name") if call.batch_table else call.arg(1, "column_name")
    return name


_LITERAL = re.compile(r"^\s*('([^']|'')*'|-?\d+(\.\d+)?|NULL|TRUE|FALSE)\s*$", re.IGNORECASE)


def server_default_sql(column: sa.Column[Any]) -> str | None:
    """The column's server default as SQL text (None when it has none)."""
    default = column.server_default
    if default is None or not isinstance(default, sa.DefaultClause):
        return None
    arg = default.arg
    if isinstance(arg, str):
        return "'" + arg.replace("'", "''") + "'"
    return str(arg.compile(compile_kwargs={"literal_binds": True})) if hasattr(arg, "compile") else str(arg)


def is_literal_sql(text: str) -> bool:
    """A constant (string, number, NULL, boolean), as opposed to an expression."""
    return bool(_LITERAL.match(text))


def type_code(value: Any) -> str:
    """A column type as Alembic code (``sa.String(length=255)``), for recipes; ``...`` if unknown."""
    if value is None:
        return "..."
    value = sa.types.to_instance(value)
    module = type(value).__module__
    prefix = "postgresql." if ".postgresql" in module else "mysql." if ".mysql" in module else "sa."
    return prefix + repr(value)


def _bare(table: Any) -> str:
    return str(table).rsplit(".", 1)[-1]


def alter_call(ctx: RevisionContext, table: str | None, column: str, seq: int) -> OpCall | None:
    """The ``alter_column`` call (``op.`` or ``batch_op.``) behind an ``ALTER COLUMN`` of
    ``table.column`` rendered at ``seq``: in batch mode the ALTERs are written when the batch
    closes, so the statement itself only points at ``batch_alter_table``."""
    found = None
    for call in ctx.calls("alter_column"):
        if call.seq <= seq and _bare(table_of(call)) == _bare(table) and column_name_of(call) == column:
            found = call
    return found


def already_not_null(ctx: RevisionContext, table: str | None, column: str, call: OpCall | None) -> bool:
    """``existing_nullable=False`` says so, or the replayed history made the column NOT NULL:
    then ``nullable=False`` changes nothing (no scan, no NULLs to coerce)."""
    if call is not None and call.kwargs.get("existing_nullable") is False:
        return True
    state = ctx.state_before(call.seq) if call is not None else ctx.state
    return state.is_not_null(_bare(table), column)


def columns_made_not_null(ctx: RevisionContext) -> Iterator[tuple[OpCall, str, str]]:
    """``alter_column(..., nullable=False)`` calls on existing tables whose column may hold
    NULLs: (call, table, column)."""
    for call in ctx.calls("alter_column"):
        table = table_of(call)
        column = column_name_of(call)
        if (
            call.kwargs.get("nullable") is False
            and not ctx.is_new_table(table, call.seq, call.kwargs.get("schema"))
            and not already_not_null(ctx, table, column, call)
        ):
            yield call, table, column


def added_columns(ctx: RevisionContext) -> Iterator[tuple[OpCall, str, sa.Column[Any]]]:
    """``add_column`` calls on tables that existed before this revision, with their Column."""
    from .state import column_argument

    for call in ctx.calls("add_column"):
        table = table_of(call)
        column = column_argument(call)
        if isinstance(column, sa.Column) and not ctx.is_new_table(table, call.seq, call.kwargs.get("schema")):
            yield call, table, column


def added_constraints(ctx: RevisionContext, kind: str) -> Iterator[tuple[ParsedStatement, str, Any]]:
    """``ALTER TABLE ... ADD CONSTRAINT`` of ``kind`` (CHECK, FOREIGN, UNIQUE...) on existing tables."""
    for statement, cmd in ctx.alter_commands():
        constraint = pg.added_constraint(cmd)
        if constraint is not None and pg.constraint_kind(constraint) == kind:
            yield statement, pg.relation_name(statement.node) or "", constraint


@dataclass(frozen=True)
class SchemaChange:
    """A drop or rename that running code may still depend on."""

    kind: str  # drop_column | drop_table | rename_column | rename_table
    table: str
    column: str | None
    new_name: str | None
    statement: Statement | None
    op: OpCall | None


def schema_changes(ctx: RevisionContext) -> list[SchemaChange]:
    """Drops and renames of existing objects: from the SQL on PostgreSQL, from the ops elsewhere.

    A column the same revision added earlier is no existing object: no running release knows
    it, so dropping or renaming it (a ``conf_json`` filled, then renamed to ``conf``) breaks
    nothing."""
    changes = _changes_from_sql(ctx) if ctx.is_postgresql else _changes_from_ops(ctx)
    return [change for change in changes if not _column_added_here(ctx, change)]


def _column_added_here(ctx: RevisionContext, change: SchemaChange) -> bool:
    from .state import column_argument

    if change.column is None or change.kind not in ("drop_column", "rename_column"):
        return False
    seq = change.statement.seq if change.statement is not None else change.op.seq if change.op else 0
    for call in ctx.calls("add_column"):
        column = column_argument(call)
        if (
            call.seq < seq
            and _bare(table_of(call)) == _bare(change.table)
            and getattr(column, "name", None) == change.column
        ):
            return True
    return False


def _changes_from_sql(ctx: RevisionContext) -> Iterator[SchemaChange]:
    for statement in ctx.parsed("AlterTableStmt", "DropStmt", "RenameStmt"):
        node, op = statement.node, statement.op
        if statement.kind == "AlterTableStmt":
            table = pg.relation_name(node) or ""
            if ctx.is_new_table(node.relation, statement.seq):
                continue
            for cmd in pg.alter_commands(node):
                if pg.is_cmd(cmd, "AT_DropColumn"):
                    yield SchemaChange("drop_column", table, cmd.name, None, statement, op)
        elif statement.kind == "DropStmt" and pg.enum_name(node.removeType) == "OBJECT_TABLE":
            for names in node.objects or ():
                table = pg.dotted(names)[-1]
                if not ctx.is_new_table(".".join(pg.dotted(names)), statement.seq):
                    yield SchemaChange("drop_table", table, None, None, statement, op)
        elif statement.kind == "RenameStmt":
            kind = pg.enum_name(node.renameType)
            table = pg.relation_name(node) or ""
            if kind == "OBJECT_COLUMN" and not ctx.is_new_table(node.relation, statement.seq):
                yield SchemaChange("rename_column", table, node.subname, node.newname, statement, op)
            elif kind == "OBJECT_TABLE" and not ctx.is_new_table(node.relation, statement.seq):
                yield SchemaChange("rename_table", table, None, node.newname, statement, op)


def _changes_from_ops(ctx: RevisionContext) -> Iterator[SchemaChange]:
    for call in ctx.ops:
        if call.name == "drop_column":
            table = table_of(call)
            if not ctx.is_new_table(table, call.seq):
                yield SchemaChange("drop_column", table, column_name_of(call), None, None, call)
        elif call.name == "drop_table" and not ctx.is_new_table(call.arg(0, "table_name"), call.seq):
            yield SchemaChange("drop_table", call.arg(0, "table_name"), None, None, None, call)
        elif call.name == "alter_column" and call.kwargs.get("new_column_name"):
            table = table_of(call)
            if not ctx.is_new_table(table, call.seq):
                column = column_name_of(call)
                yield SchemaChange("rename_column", table, column, call.kwargs["new_column_name"], None, call)
        elif call.name == "rename_table" and not ctx.is_new_table(call.arg(0, "old_table_name"), call.seq):
            old, new = call.arg(0, "old_table_name"), call.arg(1, "new_table_name")
            yield SchemaChange("rename_table", old, None, new, None, call)
