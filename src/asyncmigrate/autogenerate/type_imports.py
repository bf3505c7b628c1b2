"""The imports a generated revision needs for the column types it names.

Alembic writes a type from outside SQLAlchemy as ``module.path.TypeName(...)`` (a
sqlalchemy-utils ``UUIDType``, a GeoAlchemy ``Geometry``, a project's own ``TypeDecorator``) but
imports nothing, so the file fails with ``NameError`` when it runs (sqlalchemy-utils #106,
alembic #1405). This plugin notes each such module and the file imports it (``import
module.path``, which makes the dotted name Alembic wrote resolve), unless the project chose
its own ``user_module_prefix`` and so its own imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alembic.autogenerate import renderers
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy.types import TypeEngine

__all__ = ["PLUGIN_NAME", "TypeImports"]

PLUGIN_NAME = "asyncmigrate.type_imports"


class TypeImports(ops.MigrateOperation):
    """Renders no line; adds ``import module`` for each module to the file. Its empty ``ops``
    keeps it out of the changes ``check`` lists."""

    def __init__(self, modules: list[str]) -> None:
        self.modules = modules
        self.ops: list[ops.MigrateOperation] = []

    def reverse(self) -> TypeImports:
        return TypeImports(self.modules)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ()


@renderers.dispatch_for(TypeImports)
def _render_type_imports(autogen_context: Any, op: TypeImports) -> list[str]:
    if autogen_context.imports is not None:
        autogen_context.imports.update(f"import {module}" for module in op.modules)
    return []


def _types(op: ops.MigrateOperation) -> Iterator[Any]:
    """Every column type ``op`` (and the ops it holds) will name in the file."""
    if isinstance(op, ops.OpContainer):
        for inner in op.ops:
            yield from _types(inner)
    elif isinstance(op, ops.CreateTableOp):
        for column in op.columns:
            yield getattr(column, "type", None)
    elif isinstance(op, ops.AddColumnOp):
        yield op.column.type
    elif isinstance(op, ops.DropColumnOp):
        yield op.to_column().type  # the downgrade adds it back
    elif isinstance(op, ops.AlterColumnOp):
        yield op.modify_type
        yield op.existing_type
    elif isinstance(op, ops.DropTableOp):
        yield from (column.type for column in op.to_table().columns)


def _modules(type_: Any) -> Iterator[str]:
    """The modules outside SQLAlchemy that rendering ``type_`` names (an ARRAY's item too)."""
    if not isinstance(type_, TypeEngine):
        return
    module = type(type_).__module__
    if not module.startswith("sqlalchemy.") and module not in ("sqlalchemy", "builtins", "__main__"):
        yield module
    item = getattr(type_, "item_type", None)
    if item is not None and item is not type_:
        yield from _modules(item)


def _add_imports(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> PriorityDispatchResult:
    if autogen_context.opts.get("user_module_prefix") is not None:
        return PriorityDispatchResult.CONTINUE
    modules = sorted({module for op in upgrade_ops.ops for type_ in _types(op) for module in _modules(type_)})
    if modules:
        upgrade_ops.ops.insert(0, TypeImports(modules))
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(_add_imports, "autogenerate", priority=DispatchPriority.LAST)
