"""Renames a model declares, written by autogenerate as renames instead of drop + add.

Alembic's autogenerate cannot tell a renamed column or table from one dropped and another
added, and a drop + add loses the rows. A model states its past name in SQLAlchemy's own
``info`` dict, which Alembic carries untouched::

    email: Mapped[str] = mapped_column(String(255), info={"renamed_from": "mail"})
    __table_args__ = {"info": {"renamed_from": "users_old"}}

This module is an Alembic autogenerate plugin that runs after Alembic's own comparison and
rewrites its result: a created table whose ``renamed_from`` names a dropped table becomes
``op.rename_table(old, new)`` followed by the comparison of the old table's columns, indexes
and constraints with the model's; within one table, an added column whose ``renamed_from``
names a dropped column becomes ``op.alter_column(..., new_column_name=...)`` (with the type,
nullability, default or comment changes Alembic finds between the two). Both have their exact
inverse in ``downgrade()``. Foreign keys follow a renamed table or column on every database, so
the drop + create Alembic writes for each of them goes. A declaration that matches nothing (the
rename was applied) changes nothing. An undeclared drop + add of the same type in one table is
left as it is, with a comment that says data will be lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from alembic.autogenerate import renderers
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import Column, ForeignKeyConstraint, MetaData, Table, event

from ..errors import ConfigError
from .plugins import ALEMBIC_DEFAULT, drop_emptied_tables

__all__ = [
    "PLUGIN_NAME",
    "RENAMED_FROM",
    "RENAME_QUESTION",
    "PossibleTableRename",
    "RenameColumn",
    "RenameQuestion",
    "TABLE_RENAME_QUESTION",
    "TableRenameQuestion",
    "RenameTable",
    "declared_renames",
    "register",
]

log = logging.getLogger(__name__)

#: The key of a column's or a table's ``info`` that names its previous name.
RENAMED_FROM = "renamed_from"
PLUGIN_NAME = "asyncmigrate.declared_renames"
#: The comment an undeclared drop + add of the same type gets in the generated file.
POSSIBLE_RENAME = "possible rename, data will be lost"


def declared_renames(plugins: Sequence[str] = ALEMBIC_DEFAULT) -> list[str]:
    """The value for ``context.configure(autogenerate_plugins=...)``: ``plugins`` (Alembic's
    default set unless given) and this one alone, registered with Alembic. (Most projects want
    :func:`asyncmigrate.autogenerate.autogenerate_plugins`: all of ours.)"""
    register()
    return [*plugins, *([] if PLUGIN_NAME in plugins else [PLUGIN_NAME])]


class RenameTable(ops.RenameTableOp):
    """``op.rename_table``, with the inverse and the diff entry Alembic's own op lacks (no
    autogenerate made it before)."""

    def reverse(self) -> RenameTable:
        return RenameTable(self.new_table_name, self.table_name, schema=self.schema)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("rename_table", self.schema, self.table_name, self.new_table_name)


class RenameColumn(ops.AlterColumnOp):
    """``op.alter_column(..., new_column_name=...)``: Alembic's ``AlterColumnOp`` reverses every
    change but the name, and names none in its diff."""

    def reverse(self) -> ops.AlterColumnOp:
        reverse = super().reverse()
        reverse.column_name, reverse.modify_name = self.modify_name or self.column_name, self.column_name
        return reverse

    def to_diff_tuple(self) -> Any:
        existing = {
            "existing_type": self.existing_type,
            "existing_nullable": self.existing_nullable,
            "existing_server_default": self.existing_server_default,
            "existing_comment": self.existing_comment,
        }
        rename = ("modify_name", self.schema, self.table_name, self.column_name, existing)
        return [(*rename, self.column_name, self.modify_name), *super().to_diff_tuple()]


class PossibleRename(ops.AddColumnOp):
    """An added column with a dropped column of the same type in its table: rendered as Alembic
    renders the add, under a comment saying the rows of the dropped one are lost."""

    def __init__(self, add: ops.AddColumnOp, dropped: list[str]) -> None:
        super().__init__(add.table_name, add.column, schema=add.schema, **add.kw)
        self.dropped = dropped

    def comment(self) -> str:
        name = self.column.name
        declaration = f'info={{"{RENAMED_FROM}": "{self.dropped[0]}"}} on {name!r}'
        return _possible_rename_line(f"{name!r} is added", self.dropped, "of the same type", declaration)


def _possible_rename_line(new: str, dropped: list[str], alike: str, declaration: str) -> str:
    """The comment above an undeclared add or create that may be a rename."""
    names = " or ".join(repr(name) for name in dropped)
    said = f"# {POSSIBLE_RENAME}: {new} and {names} dropped, {alike}"
    return f"{said}; to rename instead, declare {declaration}"


class PossibleTableRename(ops.OpContainer):
    """A line above a ``create_table`` whose columns are those of a table the revision drops: the
    comment that the dropped table's rows are lost. A container of no operations, so ``check``
    and the diffs count the create and the drop, not this."""

    def __init__(
        self, created: str, dropped: list[str], schema: str | None = None, shown: bool = True
    ) -> None:
        super().__init__([])
        self.created, self.dropped, self.schema, self.shown = created, dropped, schema, shown

    def reverse(self) -> PossibleTableRename:
        # reversed, the line would land below the ops it is about: the upgrade says it
        return PossibleTableRename(self.created, self.dropped, self.schema, shown=False)

    def comment(self) -> str:
        declaration = (
            f'__table_args__ = {{"info": {{"{RENAMED_FROM}": "{self.dropped[0]}"}}}} on {self.created!r}'
        )
        new = f"table {self.created!r} is created"
        return _possible_rename_line(new, self.dropped, "with the same columns", declaration)


@renderers.dispatch_for(PossibleTableRename)
def _render_possible_table_rename(autogen_context: Any, op: PossibleTableRename) -> list[str]:
    return [op.comment()] if op.shown else []


@renderers.dispatch_for(RenameTable)
def _render_rename_table(autogen_context: Any, op: RenameTable) -> str:
    prefix = autogen_context.opts.get("alembic_module_prefix") or "op."
    schema = f", schema={op.schema!r}" if op.schema else ""
    return f"{prefix}rename_table({str(op.table_name)!r}, {str(op.new_table_name)!r}{schema})"


@renderers.dispatch_for(PossibleRename)
def _render_possible_rename(autogen_context: Any, op: PossibleRename) -> list[str]:
    lines = renderers.dispatch(ops.AddColumnOp)(autogen_context, op)
    return [op.comment(), *(lines if isinstance(lines, list) else [lines])]


def _rewrite(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> PriorityDispatchResult:
    """Runs last in autogenerate, on Alembic's finished comparison."""
    if autogen_context.connection is None or autogen_context.metadata is None:
        return PriorityDispatchResult.CONTINUE
    tables = _rename_tables(autogen_context, upgrade_ops)
    columns: dict[tuple[str, str], str] = {}
    rewritten: list[ops.MigrateOperation] = []
    for op in upgrade_ops.ops:
        if isinstance(op, ops.ModifyTableOps):
            rewritten.extend(_rename_columns(autogen_context, op, columns))
        else:
            rewritten.append(op)
    upgrade_ops.ops = rewritten
    if tables or columns:
        _keep_carried_foreign_keys(upgrade_ops, tables, columns)
    return PriorityDispatchResult.CONTINUE


def _spelled(schema: str | None, table: str) -> str:
    """A table as a foreign key spells the table it refers to."""
    return f"{schema}.{table}" if schema else table


def _declared(item: Table | Column[Any]) -> str | None:
    if RENAMED_FROM not in item.info:
        return None
    name = item.info[RENAMED_FROM]
    if not isinstance(name, str) or not name:
        what = f"table {item.name}" if isinstance(item, Table) else f"column {item}"
        raise ConfigError(
            f"{what}: info['{RENAMED_FROM}'] must be its previous name, a string; got {name!r}"
            " (nothing was written)"
        )
    return name if name != item.name else None


#: The key of Alembic's ``Config.attributes`` under which a caller may put a
#: :data:`RenameQuestion`: asked about each undeclared drop + add of one type (``revision
#: --autogenerate --interactive``).
RENAME_QUESTION = "asyncmigrate.rename_question"

#: (table, added column, dropped columns of its type) -> the dropped one it renames, or None.
RenameQuestion = Callable[[str, str, list[str]], "str | None"]

#: The key of ``Config.attributes`` for a :data:`TableRenameQuestion`: asked about each table
#: created with the columns of dropped ones, none declared.
TABLE_RENAME_QUESTION = "asyncmigrate.table_rename_question"

#: (created table, dropped tables with its columns) -> the dropped one it renames, or None.
TableRenameQuestion = Callable[[str, list[str]], "str | None"]


def _question(autogen_context: Any, name: str) -> Any:
    """The caller's question under ``name`` in Alembic's ``Config.attributes``, if it put one."""
    config = getattr(autogen_context.migration_context, "config", None)
    attributes = getattr(config, "attributes", None) or {}
    ask = attributes.get(name)
    return ask if callable(ask) else None


def _once_each(declarations: list[tuple[str | None, str]], what: str) -> None:
    """One old name is renamed once: two new ones declaring it is a mistake to stop at, not to
    guess (the second would silently become a new, empty column or table)."""
    claimed: dict[str, str] = {}
    for old, new in declarations:
        if old is None:
            continue
        if old in claimed:
            raise ConfigError(
                f"{what}: {claimed[old]} and {new} both declare info['{RENAMED_FROM}'] = {old!r};"
                " a name can be renamed once (nothing was written)"
            )
        claimed[old] = new


def _rename_tables(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> dict[str, str]:
    """Declared table renames in place of their create + drop: old name -> new, as spelled by
    :func:`_spelled`. Then the undeclared look-alikes, a table created with the columns (names and
    types) of one dropped in its schema: renamed where the question (``--interactive``) is
    answered yes, else kept a create + drop under a "possible rename" comment, with a warning."""
    default_schema = autogen_context.dialect.default_schema_name

    def key(schema: str | None, name: str) -> tuple[str | None, str]:
        return (None if schema == default_schema else schema, name)

    models = {key(table.schema, table.name): table for table in autogen_context.sorted_tables}
    created = {
        key(op.schema, op.table_name): op for op in upgrade_ops.ops if isinstance(op, ops.CreateTableOp)
    }
    dropped = {key(op.schema, op.table_name): op for op in upgrade_ops.ops if isinstance(op, ops.DropTableOp)}
    renamed_tables: dict[str, str] = {}
    _once_each(
        [(_declared(models[key]), key[1]) for key in created if key in models],
        "tables",
    )

    def rename(create: ops.CreateTableOp, table: Table, old: str, how: str) -> None:
        schema, name = key(create.schema, create.table_name)
        drop = dropped.pop((schema, old))
        gone = {(schema, name), (schema, old)}
        position = upgrade_ops.ops.index(create)
        kept = [
            op
            for op in upgrade_ops.ops[:position]
            if not (isinstance(op, ops.ModifyTableOps) and key(op.schema, op.table_name) in gone)
        ]
        after = [
            op
            for op in upgrade_ops.ops[position + 1 :]
            if op is not drop
            and not (isinstance(op, ops.ModifyTableOps) and key(op.schema, op.table_name) in gone)
        ]
        renamed: list[ops.MigrateOperation] = [RenameTable(old, name, schema=create.schema)]
        modify = _compare_renamed_table(autogen_context, create.schema, old, table)
        if not modify.is_empty():
            renamed.append(modify)
        upgrade_ops.ops = [*kept, *renamed, *after]
        log.info("%s rename of table %r to %r: written as rename_table, not drop + create", how, old, name)
        renamed_tables[_spelled(schema, old)] = _spelled(schema, name)

    undeclared: list[tuple[ops.CreateTableOp, Table]] = []
    for (schema, _name), create in created.items():
        table = models.get((schema, _name))
        if table is None:
            continue
        old = _declared(table)
        if old is None:
            undeclared.append((create, table))
        elif (schema, old) in dropped:
            rename(create, table, old, "Declared")
    if not dropped or not undeclared:
        return renamed_tables
    ask: TableRenameQuestion | None = _question(autogen_context, TABLE_RENAME_QUESTION)
    impl = autogen_context.migration_context.impl
    notes: dict[int, PossibleTableRename] = {}
    dropped_columns: dict[tuple[str | None, str], dict[str, Column[Any]]] = {}  # each read once
    for create, table in undeclared:
        schema = key(table.schema, table.name)[0]
        model_columns = {column.name: column for column in table.c}
        alike = []
        for (where, name), drop in dropped.items():
            if where != schema:
                continue
            if (where, name) not in dropped_columns:
                dropped_columns[(where, name)] = {column.name: column for column in drop.to_table().c}
            old_columns = dropped_columns[(where, name)]
            if old_columns and old_columns.keys() == model_columns.keys():
                if not any(impl.compare_type(old_columns[c], model_columns[c]) for c in old_columns):
                    alike.append(name)
        if not alike:
            continue
        answer = ask(table.name, alike) if ask is not None else None
        if answer is not None and answer in alike:
            rename(create, table, answer, "Confirmed")
            continue
        notes[id(create)] = PossibleTableRename(table.name, alike, schema=table.schema)
        log.warning(
            "Possible rename of table %s to %r: written as drop + create, the rows will be lost"
            " (declare __table_args__ = {'info': {'%s': ...}} to rename)",
            " or ".join(repr(name) for name in alike),
            table.name,
            RENAMED_FROM,
        )
    if notes:
        upgrade_ops.ops = [
            item for op in upgrade_ops.ops for item in (notes.get(id(op)), op) if item is not None
        ]
    return renamed_tables


def _keep_carried_foreign_keys(
    upgrade_ops: ops.UpgradeOps, tables: dict[str, str], columns: dict[tuple[str, str], str]
) -> None:
    """Foreign keys follow a renamed table they point at, and a renamed column they are made of or
    point at (on PostgreSQL, MySQL, MariaDB and SQLite alike), but Alembic, which sees the names
    change, writes a drop and a create of each. Those pairs go: the downgrade would create the
    foreign key before the names it uses are back."""
    modifies = [op for op in upgrade_ops.ops if isinstance(op, ops.ModifyTableOps)]
    creates = [
        (_spelled(modify.schema, modify.table_name), op)
        for modify in modifies
        for op in modify.ops
        if isinstance(op, ops.CreateForeignKeyOp)
    ]
    gone: set[int] = set()
    for modify in modifies:
        source = _spelled(modify.schema, modify.table_name)
        for drop in modify.ops:
            if not isinstance(drop, ops.DropConstraintOp) or drop.constraint_type != "foreignkey":
                continue
            constraint = drop.to_constraint()
            if not isinstance(constraint, ForeignKeyConstraint):
                continue
            before = _signature(constraint, source, tables, columns)
            for table, create in creates:
                if table == source and id(create) not in gone:
                    if _signature(create.to_constraint(), source, {}, {}) == before:
                        gone |= {id(drop), id(create)}
                        break
    if not gone:
        return
    for modify in modifies:
        modify.ops = [op for op in modify.ops if id(op) not in gone]
    drop_emptied_tables(upgrade_ops)


#: What a database reports for a foreign key action nobody set.
_NO_ACTION = {None, "NO ACTION", "RESTRICT"}


def _signature(
    constraint: Any, source: str, tables: dict[str, str], columns: dict[tuple[str, str], str]
) -> tuple[Any, ...]:
    """A foreign key of table ``source``: its columns, referred table and columns (renamed as
    ``tables`` and ``columns`` say) and options; its own name left out, as Alembic compares."""
    local = tuple(columns.get((source, key), key) for key in constraint.column_keys)
    referred = []
    for element in constraint.elements:
        table, _, column = element.target_fullname.rpartition(".")
        table = tables.get(table, table)
        referred.append((table, columns.get((table, column), column)))

    def action(value: str | None) -> str | None:
        return None if value is None or value.upper() in _NO_ACTION else value.upper()

    return (
        local,
        tuple(referred),
        action(constraint.ondelete),
        action(constraint.onupdate),
        bool(constraint.deferrable),
        (constraint.initially or "").upper() or None,
    )


def _compare_renamed_table(
    autogen_context: Any, schema: str | None, old: str, table: Table
) -> ops.ModifyTableOps:
    """The changes from the database's table ``old`` to the model ``table``, as Alembic finds them
    for a table that keeps its name, all addressed to the new name (the rename runs first)."""
    impl = autogen_context.migration_context.impl
    conn_table = Table(old, MetaData(), schema=schema)
    event.listen(conn_table, "column_reflect", lambda *args: impl.autogen_column_reflect(*args))
    autogen_context.inspector.reflect_table(conn_table, None, resolve_fks=False)
    new = table.name
    dialect = autogen_context.dialect.name
    modify = ops.ModifyTableOps(new, [], schema=schema)
    model_columns = {column.name: column for column in table.c if not column.system}
    conn_columns = {
        column.name: column
        for column in conn_table.c
        if autogen_context.run_name_filters(column.name, "column", {"table_name": new, "schema_name": schema})
    }
    for name, column in model_columns.items():
        if name not in conn_columns and autogen_context.run_object_filters(
            column, name, "column", False, None
        ):
            modify.ops.append(ops.AddColumnOp.from_column_and_tablename(schema, new, column))
    for name, column in model_columns.items():
        conn_column = conn_columns.get(name)
        if conn_column is None or not autogen_context.run_object_filters(
            column, name, "column", False, conn_column
        ):
            continue
        alter = ops.AlterColumnOp(new, name, schema=schema)
        autogen_context.comparators.dispatch("column", qualifier=dialect)(
            autogen_context, alter, schema, new, name, conn_column, column
        )
        if alter.has_changes():
            modify.ops.append(alter)
    # Indexes, constraints and comments: read from the database under the name it still has.
    autogen_context.comparators.dispatch("table", qualifier=dialect)(
        autogen_context, modify, schema, old, conn_table, table
    )
    for name, conn_column in conn_columns.items():
        if name not in model_columns and autogen_context.run_object_filters(
            conn_column, name, "column", True, None
        ):
            modify.ops.append(ops.DropColumnOp.from_column_and_tablename(schema, new, conn_column))
    for op in modify.ops:
        if getattr(op, "table_name", None) == old:
            op.table_name = new  # type: ignore[attr-defined]
    return modify


#: Ops that undo something of the old column (its index, its constraint): they run before the
#: rename, so that the downgrade, which runs them backwards, recreates them after the name is back.
_UNDOING = (ops.DropIndexOp, ops.DropConstraintOp)


def _rename_columns(
    autogen_context: Any, modify: ops.ModifyTableOps, renamed: dict[tuple[str, str], str]
) -> list[ops.ModifyTableOps]:
    """``modify`` with its declared column renames; split in three when it renames (what undoes
    the old columns' indexes and constraints, the renames, the rest): in batch mode each part is
    its own ``batch_alter_table``, as Alembic's batch cannot index a column it renames in the
    same block. Each rename is noted in ``renamed``: (table as :func:`_spelled`, old) -> new."""
    dropped = {op.column_name: op for op in modify.ops if isinstance(op, ops.DropColumnOp)}
    _once_each(
        [(_declared(op.column), op.column.name) for op in modify.ops if isinstance(op, ops.AddColumnOp)],
        f"columns of {modify.table_name}",
    )
    replaced: dict[int, ops.MigrateOperation | None] = {}
    renames: list[ops.MigrateOperation] = []

    from ..dialects import for_backend

    repeats_autoincrement = bool(
        for_backend(autogen_context.dialect.name).alter_repeats_autoincrement
        or autogen_context.migration_context.opts.get("render_as_batch")
    )

    def rename_column(add: ops.AddColumnOp, old: str, how: str) -> None:
        drop = dropped.pop(old)
        rename = RenameColumn(modify.table_name, old, schema=modify.schema, modify_name=add.column.name)
        autogen_context.comparators.dispatch("column", qualifier=autogen_context.dialect.name)(
            autogen_context, rename, modify.schema, modify.table_name, old, drop.to_column(), add.column
        )
        if not repeats_autoincrement:
            # Alembic notes it on every ALTER of a key column; outside MySQL and batch mode the
            # ALTER then warns that the keyword means nothing
            rename.kw.pop("autoincrement", None)
        replaced[id(add)] = replaced[id(drop)] = None
        renames.append(rename)
        renamed[(_spelled(modify.schema, modify.table_name), old)] = add.column.name
        log.info(
            "%s rename of column '%s.%s' to %r: written as alter_column, not drop + add",
            how,
            modify.table_name,
            old,
            add.column.name,
        )

    for add in [op for op in modify.ops if isinstance(op, ops.AddColumnOp)]:
        old = _declared(add.column)
        if old is not None and old in dropped:
            rename_column(add, old, "Declared")
    impl = autogen_context.migration_context.impl
    ask: RenameQuestion | None = _question(autogen_context, RENAME_QUESTION)
    for add in [op for op in modify.ops if isinstance(op, ops.AddColumnOp) and id(op) not in replaced]:
        if _declared(add.column) is not None:
            continue  # declared, and already applied or naming nothing: as without the declaration
        alike = [name for name, op in dropped.items() if not impl.compare_type(op.to_column(), add.column)]
        if alike and ask is not None:
            answer = ask(modify.table_name, add.column.name, alike)
            if answer is not None and answer in alike:
                rename_column(add, answer, "Confirmed")
                continue
        if alike:
            replaced[id(add)] = PossibleRename(add, alike)
            log.warning(
                "Possible rename of column '%s.%s' to %r: written as drop + add, the data will be lost"
                " (declare info={'%s': ...} to rename)",
                modify.table_name,
                " or ".join(alike),
                add.column.name,
                RENAMED_FROM,
            )
    if not replaced:
        return [modify]
    kept = [op for op in (replaced.get(id(op), op) for op in modify.ops) if op is not None]
    if not renames:
        modify.ops = kept
        return [modify]
    parts: list[list[ops.MigrateOperation]] = [
        [op for op in kept if isinstance(op, _UNDOING)],
        renames,
        [op for op in kept if not isinstance(op, _UNDOING)],
    ]
    return [ops.ModifyTableOps(modify.table_name, part, schema=modify.schema) for part in parts if part]


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(_rewrite, "autogenerate", priority=DispatchPriority.LAST)


def register() -> None:
    """Make the plugin known to Alembic (once per process); a run still has to ask for it."""
    import sys

    from .plugins import register_once

    register_once(sys.modules[__name__], PLUGIN_NAME)
