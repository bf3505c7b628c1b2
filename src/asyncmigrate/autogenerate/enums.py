"""PostgreSQL enum types in autogenerate: created, changed and dropped with the models.

Alembic compares columns, not the types they use: a value added to an ``sa.Enum`` is not seen,
a new table's enum is created by ``create_table`` (and fails if the type exists, as when a
second table uses it), and ``drop_table`` leaves the type behind, so a downgrade followed by an
upgrade fails. This Alembic autogenerate plugin reads every enum type and its labels of the
schemas in play in one catalog query, compares them with the native enums the models' columns
use (``sa.Enum``, ``postgresql.ENUM``, either inside ``ARRAY``; in the schema the type names, or
the default one), and writes plain SQL through ``op.execute`` at the start of the upgrade:

* a type the models use and the database lacks: ``CREATE TYPE`` (the downgrade drops it);
  ``create_table`` is rendered with ``create_type=False`` so that it never creates one itself;
* values added without moving the old ones: ``ALTER TYPE ... ADD VALUE IF NOT EXISTS`` inside
  ``autocommit_block()`` (no rewrite; the downgrade recreates the type without them);
* a value renamed, declared on a column of that type as
  ``info={"renamed_values": {"old": "new"}}``: ``ALTER TYPE ... RENAME VALUE`` (rows kept, both
  ways);
* values removed or reordered: the type is recreated (renamed to ``<name>_old``, created anew,
  every column using it, arrays too, converted through ``text`` with its default dropped and set
  again, the old one dropped). Rows holding a removed value make it fail, so the file says so.

A type declared ``postgresql.ENUM(..., create_type=False)`` is created elsewhere: never created
or dropped here, its values compared once it exists. A type the models no longer use is dropped
(after the table or column) only when the revision drops the last column that used it; an enum
the models never knew is never touched, even if no column uses it (other tools, functions or
raw SQL may).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from alembic.autogenerate import renderers
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import ARRAY, Enum, Table, bindparam, text
from sqlalchemy.types import TypeEngine

from ..errors import ConfigError

__all__ = [
    "PLUGIN_NAME",
    "RENAMED_VALUES",
    "AddEnumValues",
    "CreateEnum",
    "DropEnum",
    "RecreateEnum",
    "RenameEnumValues",
    "Usage",
]

log = logging.getLogger(__name__)

PLUGIN_NAME = "asyncmigrate.enums"
#: The key of a column's ``info`` that maps renamed values of its enum type: ``{"old": "new"}``.
RENAMED_VALUES = "renamed_values"
#: The database this plugin knows: enum types are a PostgreSQL catalog (pg_type, pg_enum).
_DIALECT = "postgresql"

#: (schema, name) of a type; schema None is the connection's default schema.
Key = tuple[str | None, str]


@dataclass(frozen=True)
class Usage:
    """A column of a table that uses a type, as the database has it."""

    schema: str | None
    table: str
    column: str
    array: bool
    default: str | None = None


@dataclass
class _ModelEnum:
    values: tuple[str, ...]
    renames: dict[str, str] = field(default_factory=dict)
    #: False for ``postgresql.ENUM(..., create_type=False)``: its type is created elsewhere.
    created: bool = True


class EnumOp(ops.MigrateOperation):
    """An operation on one enum type."""

    def __init__(self, schema: str | None, name: str) -> None:
        self.schema = schema
        self.name = name


class _WholeEnum(EnumOp):
    """A type with all its values: created or dropped."""

    #: the change's name in a diff
    change: str = ""

    def __init__(self, schema: str | None, name: str, values: tuple[str, ...]) -> None:
        super().__init__(schema, name)
        self.values = values

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return (self.change, self.schema, self.name, self.values)


class CreateEnum(_WholeEnum):
    change = "add_enum"

    def reverse(self) -> DropEnum:
        return DropEnum(self.schema, self.name, self.values)


class DropEnum(_WholeEnum):
    change = "remove_enum"

    def reverse(self) -> CreateEnum:
        return CreateEnum(self.schema, self.name, self.values)


class _EnumValuesChange(EnumOp):
    """The type's values go from ``old`` to ``new``; ``columns`` use the type."""

    def __init__(
        self,
        schema: str | None,
        name: str,
        old: tuple[str, ...],
        new: tuple[str, ...],
        columns: list[Usage],
    ) -> None:
        super().__init__(schema, name)
        self.old, self.new, self.columns = old, new, columns


class RecreateEnum(_EnumValuesChange):
    """The type recreated with ``new`` values, every column in ``columns`` converted."""

    @property
    def removed(self) -> list[str]:
        return [value for value in self.old if value not in self.new]

    def reverse(self) -> EnumOp:
        """Values put back where the old ones keep their order: ``ADD VALUE``, no rewrite."""
        if [value for value in self.old if value in self.new] == list(self.new):
            return AddEnumValues(self.schema, self.name, self.new, self.old, self.columns)
        return RecreateEnum(self.schema, self.name, self.new, self.old, self.columns)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("recreate_enum", self.schema, self.name, self.old, self.new)


class AddEnumValues(_EnumValuesChange):
    """Values added with the old ones in their order: ``ADD VALUE``, each before the old value
    it precedes, or at the end."""

    def additions(self) -> list[tuple[str, str | None]]:
        """(value, the old value it goes before, or None for the end)."""
        found = []
        for position, value in enumerate(self.new):
            if value in self.old:
                continue
            before = next((later for later in self.new[position + 1 :] if later in self.old), None)
            found.append((value, before))
        return found

    def reverse(self) -> RecreateEnum:
        return RecreateEnum(self.schema, self.name, self.new, self.old, self.columns)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("add_enum_values", self.schema, self.name, self.old, self.new)


class RenameEnumValues(EnumOp):
    def __init__(self, schema: str | None, name: str, renames: list[tuple[str, str]]) -> None:
        super().__init__(schema, name)
        self.renames = renames

    def reverse(self) -> RenameEnumValues:
        return RenameEnumValues(self.schema, self.name, [(new, old) for old, new in reversed(self.renames)])

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("rename_enum_values", self.schema, self.name, tuple(self.renames))


class CreateTableKeepingEnums(ops.CreateTableOp):
    """``create_table`` whose enum columns are rendered ``create_type=False``: their types are
    created by :class:`CreateEnum` or exist already."""


class DropTableKeepingEnums(ops.DropTableOp):
    """``drop_table`` whose inverse is a :class:`CreateTableKeepingEnums`."""

    def reverse(self) -> ops.CreateTableOp:
        create = super().reverse()
        create.__class__ = CreateTableKeepingEnums
        return create


# ---------------------------------------------------------------- rendering


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _type_name(autogen_context: Any, schema: str | None, name: str) -> str:
    quote = autogen_context.dialect.identifier_preparer.quote
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def _table_name(autogen_context: Any, schema: str | None, table: str) -> str:
    return _type_name(autogen_context, schema, table)


def _execute(autogen_context: Any, statement: str) -> str:
    prefix = autogen_context.opts.get("alembic_module_prefix") or "op."
    return f"{prefix}execute({statement!r})"


def _create_sql(autogen_context: Any, schema: str | None, name: str, values: Iterable[str]) -> str:
    listed = ", ".join(_literal(value) for value in values)
    return f"CREATE TYPE {_type_name(autogen_context, schema, name)} AS ENUM ({listed})"


@renderers.dispatch_for(CreateEnum)
def _render_create(autogen_context: Any, op: CreateEnum) -> str:
    return _execute(autogen_context, _create_sql(autogen_context, op.schema, op.name, op.values))


@renderers.dispatch_for(DropEnum)
def _render_drop(autogen_context: Any, op: DropEnum) -> str:
    return _execute(autogen_context, f"DROP TYPE {_type_name(autogen_context, op.schema, op.name)}")


@renderers.dispatch_for(RenameEnumValues)
def _render_rename(autogen_context: Any, op: RenameEnumValues) -> list[str]:
    name = _type_name(autogen_context, op.schema, op.name)
    return [
        _execute(autogen_context, f"ALTER TYPE {name} RENAME VALUE {_literal(old)} TO {_literal(new)}")
        for old, new in op.renames
    ]


@renderers.dispatch_for(AddEnumValues)
def _render_add_values(autogen_context: Any, op: AddEnumValues) -> list[str]:
    prefix = autogen_context.opts.get("alembic_module_prefix") or "op."
    name = _type_name(autogen_context, op.schema, op.name)
    lines = [
        "# ADD VALUE commits what ran before it and cannot be rolled back",
        f"with {prefix}get_context().autocommit_block():",
    ]
    for value, before in op.additions():
        where = f" BEFORE {_literal(before)}" if before is not None else ""
        statement = f"ALTER TYPE {name} ADD VALUE IF NOT EXISTS {_literal(value)}{where}"
        lines.append(_execute(autogen_context, statement))
    return [*lines, ""]  # the blank line ends the block (Alembic's printer indents by colons)


@renderers.dispatch_for(RecreateEnum)
def _render_recreate(autogen_context: Any, op: RecreateEnum) -> list[str]:
    name = _type_name(autogen_context, op.schema, op.name)
    old_name = f"{op.name}_old"
    lines = []
    if op.removed:
        gone = ", ".join(repr(value) for value in op.removed)
        lines.append(
            f"# {op.name}: {gone} removed: rows holding {'it' if len(op.removed) == 1 else 'one'} make"
            " this fail (the type is recreated and every column using it rewritten)"
        )
        if any(value not in op.old for value in op.new):
            lines.append(
                f'# a renamed value keeps its rows: declare info={{"{RENAMED_VALUES}": {{"old": "new"}}}}'
                f" on a column of {op.name}"
            )
    else:
        lines.append(
            f"# {op.name}: values reordered: the type is recreated and every column using it rewritten"
        )
    quote = autogen_context.dialect.identifier_preparer.quote
    statements = [
        f"ALTER TYPE {name} RENAME TO {quote(old_name)}",
        _create_sql(autogen_context, op.schema, op.name, op.new),
    ]
    for usage in op.columns:
        table = _table_name(autogen_context, usage.schema, usage.table)
        column = quote(usage.column)
        if usage.default is not None:
            statements.append(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
        brackets = "[]" if usage.array else ""
        statements.append(
            f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {name}{brackets}"
            f" USING {column}::text{brackets}::{name}{brackets}"
        )
        if usage.default is not None:
            statements.append(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {usage.default}")
    statements.append(f"DROP TYPE {_type_name(autogen_context, op.schema, old_name)}")
    return lines + [_execute(autogen_context, statement) for statement in statements]


def _native_enum(type_: Any) -> Enum | None:
    """The named native enum ``type_`` is, or holds as an ARRAY's items."""
    if isinstance(type_, ARRAY):
        type_ = type_.item_type
    if isinstance(type_, Enum) and type_.native_enum and type_.name:
        return type_
    return None


def _render_keeping_enums(autogen_context: Any) -> Callable[[str, Any, Any], Any]:
    own = autogen_context.opts.get("render_item")

    def render_item(kind: str, item: Any, context: Any) -> Any:
        if own:
            rendered = own(kind, item, context)
            if rendered is not False:
                return rendered
        if kind != "type" or isinstance(item, ARRAY) or _native_enum(item) is None:
            return False
        if context.imports is not None:
            context.imports.add("from sqlalchemy.dialects import postgresql")
        values = ", ".join(repr(value) for value in item.enums)
        schema = f", schema={item.schema!r}" if item.schema else ""
        return f"postgresql.ENUM({values}, name={item.name!r}{schema}, create_type=False)"

    return render_item


@contextmanager
def _keeping_enums(autogen_context: Any) -> Iterator[None]:
    opts = autogen_context.opts
    had, before = "render_item" in opts, opts.get("render_item")
    opts["render_item"] = _render_keeping_enums(autogen_context)
    try:
        yield
    finally:
        if had:
            opts["render_item"] = before
        else:
            del opts["render_item"]


@renderers.dispatch_for(CreateTableKeepingEnums)
def _render_create_table(autogen_context: Any, op: CreateTableKeepingEnums) -> Any:
    with _keeping_enums(autogen_context):
        return renderers.dispatch(ops.CreateTableOp)(autogen_context, op)


# ---------------------------------------------------------------- comparison

_ENUMS = text(
    """
    SELECT n.nspname, t.typname, t.oid, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
    FROM pg_catalog.pg_type t
    JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
    JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
    WHERE n.nspname = ANY(:schemas)
    GROUP BY n.nspname, t.typname, t.oid
    """
).bindparams(bindparam("schemas"))

_USAGES = text(
    """
    SELECT t.oid, n.nspname, c.relname, a.attname, a.atttypid <> t.oid,
           pg_catalog.pg_get_expr(d.adbin, d.adrelid)
    FROM pg_catalog.pg_type t
    JOIN pg_catalog.pg_attribute a ON a.atttypid IN (t.oid, t.typarray)
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE t.oid = ANY(:oids) AND a.attnum > 0 AND NOT a.attisdropped
      AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    ORDER BY n.nspname, c.relname, a.attnum
    """
).bindparams(bindparam("oids"))


def _schema_key(schema: str | None, default_schema: str | None) -> str | None:
    return None if schema is None or schema == default_schema else schema


def _model_enums(tables: Iterable[Table], default_schema: str | None) -> dict[Key, _ModelEnum]:
    found: dict[Key, _ModelEnum] = {}
    for table in tables:
        for column in table.columns:
            enum = _native_enum(column.type)
            if enum is None or enum.name is None:
                continue
            key = (_schema_key(enum.schema, default_schema), enum.name)
            model = found.setdefault(key, _ModelEnum(tuple(enum.enums)))
            model.created = model.created and getattr(enum, "create_type", True)
            if RENAMED_VALUES in column.info:
                model.renames.update(_declared(column.info[RENAMED_VALUES], f"{table.name}.{column.name}"))
    return found


def _compared_tables(autogen_context: Any) -> list[Table]:
    """The models' tables Alembic compares: of the default schema unless ``include_schemas``, and
    through the project's ``include_name`` and ``include_object``."""
    every_schema = autogen_context.opts.get("include_schemas", False)
    tables = []
    for table in autogen_context.sorted_tables:
        if table.schema is not None and not (
            every_schema and autogen_context.run_name_filters(table.schema, "schema", {})
        ):
            continue
        if autogen_context.run_name_filters(
            table.name, "table", {"schema_name": table.schema}
        ) and autogen_context.run_object_filters(table, table.name, "table", False, None):
            tables.append(table)
    return tables


def _declared(renames: object, column: str) -> dict[str, str]:
    """A column's ``renamed_values``: old value -> new, each a string; anything else would be
    guessed into a recreate that loses the rows, so it stops autogenerate."""
    if not isinstance(renames, dict) or not all(
        isinstance(old, str) and isinstance(new, str) for old, new in renames.items()
    ):
        raise ConfigError(
            f"column {column}: info['{RENAMED_VALUES}'] must map each old value to its new one,"
            f' {{"old": "new"}}; got {renames!r} (nothing was written)'
        )
    return dict(renames)


def _dropped_columns(
    upgrade_ops: ops.UpgradeOps, default_schema: str | None
) -> dict[Key, set[tuple[Any, ...]]]:
    """Enum types of the columns this revision drops, and those columns (schema, table, column)."""
    dropped: dict[Key, set[tuple[Any, ...]]] = {}

    def note(schema: str | None, table: str, column: str, type_: TypeEngine[Any]) -> None:
        enum = _native_enum(type_)
        if enum is not None and enum.name:
            key = (_schema_key(enum.schema, default_schema), enum.name)
            dropped.setdefault(key, set()).add((_schema_key(schema, default_schema), table, column))

    for op in upgrade_ops.ops:
        if isinstance(op, ops.DropTableOp):
            for column in op.to_table().columns:
                note(op.schema, op.table_name, column.name, column.type)
        elif isinstance(op, ops.ModifyTableOps):
            for inner in op.ops:
                if isinstance(inner, ops.DropColumnOp):
                    note(op.schema, op.table_name, inner.column_name, inner.to_column().type)
    return dropped


def _compare(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> PriorityDispatchResult:
    """Runs last in autogenerate, on Alembic's finished comparison."""
    connection = autogen_context.connection
    if connection is None or autogen_context.metadata is None or autogen_context.dialect.name != _DIALECT:
        return PriorityDispatchResult.CONTINUE
    default_schema = autogen_context.dialect.default_schema_name
    models = _model_enums(_compared_tables(autogen_context), default_schema)
    dropped = _dropped_columns(upgrade_ops, default_schema)
    schemas = {default_schema, *(schema for schema, _ in [*models, *dropped] if schema)}
    database: dict[Key, tuple[int, tuple[str, ...]]] = {}
    for schema, name, oid, labels in connection.execute(_ENUMS, {"schemas": sorted(s for s in schemas if s)}):
        database[(_schema_key(schema, default_schema), name)] = (oid, tuple(labels))

    changed = [key for key in models if key in database and database[key][1] != models[key].values]
    gone = [key for key in dropped if key in database and key not in models]
    usages = _usages(connection, [database[key][0] for key in changed + gone], default_schema)

    first: list[ops.MigrateOperation] = []
    last: list[ops.MigrateOperation] = []
    for key, model in models.items():
        if key not in database and model.created:
            first.append(CreateEnum(key[0], key[1], model.values))
            log.info("Enum %s: created", key[1])
    for key in changed:
        oid, labels = database[key]
        first.extend(_changes(key, labels, models[key], usages.get(oid, [])))
    for key in gone:
        oid, _labels = database[key]
        users = {(usage.schema, usage.table, usage.column) for usage in usages.get(oid, [])}
        if users <= dropped[key]:
            last.append(DropEnum(key[0], key[1], database[key][1]))
            log.info("Enum %s: dropped with its last column", key[1])
    if first or last or models or dropped:
        for op in upgrade_ops.ops:
            if isinstance(op, ops.CreateTableOp):
                op.__class__ = CreateTableKeepingEnums
            elif isinstance(op, ops.DropTableOp):
                op.__class__ = DropTableKeepingEnums
    upgrade_ops.ops = [*first, *upgrade_ops.ops, *last]
    return PriorityDispatchResult.CONTINUE


def _usages(connection: Any, oids: list[int], default_schema: str | None) -> dict[int, list[Usage]]:
    found: dict[int, list[Usage]] = {}
    if not oids:
        return found
    for oid, schema, table, column, array, default in connection.execute(_USAGES, {"oids": oids}):
        usage = Usage(_schema_key(schema, default_schema), table, column, bool(array), default)
        found.setdefault(oid, []).append(usage)
    return found


def _changes(
    key: Key, labels: tuple[str, ...], model: _ModelEnum, columns: list[Usage]
) -> list[ops.MigrateOperation]:
    """From the database's labels to the model's: declared renames, then added values alone
    (``ADD VALUE``) or the type recreated."""
    schema, name = key
    changes: list[ops.MigrateOperation] = []
    renames = [
        (old, new)
        for old, new in model.renames.items()
        if old in labels and new not in labels and new in model.values and old not in model.values
    ]
    if renames:
        changes.append(RenameEnumValues(schema, name, renames))
        mapping = dict(renames)
        labels = tuple(mapping.get(label, label) for label in labels)
        log.info("Enum %s: values renamed (%s)", name, ", ".join(f"{a} -> {b}" for a, b in renames))
    if labels == model.values:
        return changes
    kept = [value for value in model.values if value in labels]
    if kept == list(labels):
        changes.append(AddEnumValues(schema, name, labels, model.values, columns))
        log.info("Enum %s: values added", name)
    else:
        changes.append(RecreateEnum(schema, name, labels, model.values, columns))
        log.warning("Enum %s: values removed or reordered: the type is recreated", name)
    return changes


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(_compare, "autogenerate", priority=DispatchPriority.LAST)
