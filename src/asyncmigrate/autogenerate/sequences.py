"""Sequences the models use, created by the revision that first needs them.

A column numbered by a sequence of its own (``Column(Integer, Sequence("order_numbers"),
server_default=Sequence(...).next_value())``) comes out of Alembic's autogenerate as a column
whose default calls ``nextval('order_numbers')``, and no ``CREATE SEQUENCE``: the revision fails
when it runs. This plugin writes ``CREATE SEQUENCE`` (with the sequence's options) before the
tables, for each sequence a model column uses that the database lacks, and ``DROP SEQUENCE`` in
the downgrade. A sequence the models no longer use is left alone: the database makes its own
(SERIAL, identity) and autogenerate cannot tell those from one a model dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from alembic.autogenerate import renderers
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import Sequence
from sqlalchemy.sql.functions import next_value

__all__ = ["CreateSequence", "DropSequence", "PLUGIN_NAME"]

log = logging.getLogger(__name__)

PLUGIN_NAME = "asyncmigrate.sequences"

#: The options of a Sequence written out, in the order SQLAlchemy's constructor takes them.
_OPTIONS = (
    "start",
    "increment",
    "minvalue",
    "maxvalue",
    "nominvalue",
    "nomaxvalue",
    "cycle",
    "cache",
    "order",
)


class CreateSequence(ops.MigrateOperation):
    """``op.execute(sa.schema.CreateSequence(sa.Sequence(...)))``: Alembic has no op for it."""

    def __init__(self, sequence: Sequence) -> None:
        self.sequence = sequence

    def reverse(self) -> DropSequence:
        return DropSequence(self.sequence)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("add_sequence", self.sequence.schema, self.sequence.name)


class DropSequence(ops.MigrateOperation):
    def __init__(self, sequence: Sequence) -> None:
        self.sequence = sequence

    def reverse(self) -> CreateSequence:
        return CreateSequence(self.sequence)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("remove_sequence", self.sequence.schema, self.sequence.name)


def _spelled(autogen_context: Any, sequence: Sequence) -> str:
    prefix = autogen_context.opts.get("sqlalchemy_module_prefix") or "sa."
    arguments = [repr(sequence.name)]
    arguments += [
        f"{option}={getattr(sequence, option)!r}"
        for option in _OPTIONS
        if getattr(sequence, option, None) not in (None, False)
    ]
    if sequence.schema:
        arguments.append(f"schema={sequence.schema!r}")
    return f"{prefix}Sequence({', '.join(arguments)})"


@renderers.dispatch_for(CreateSequence)
def _render_create(autogen_context: Any, op: CreateSequence) -> str:
    prefix = autogen_context.opts.get("alembic_module_prefix") or "op."
    schema = autogen_context.opts.get("sqlalchemy_module_prefix") or "sa."
    return f"{prefix}execute({schema}schema.CreateSequence({_spelled(autogen_context, op.sequence)}))"


@renderers.dispatch_for(DropSequence)
def _render_drop(autogen_context: Any, op: DropSequence) -> str:
    prefix = autogen_context.opts.get("alembic_module_prefix") or "op."
    schema = autogen_context.opts.get("sqlalchemy_module_prefix") or "sa."
    return f"{prefix}execute({schema}schema.DropSequence({_spelled(autogen_context, op.sequence)}))"


def _used(autogen_context: Any) -> Iterator[Sequence]:
    """Each sequence a model column takes its numbers from (as its default or server default)."""
    for table in autogen_context.sorted_tables:
        for column in table.columns:
            if isinstance(column.default, Sequence):
                yield column.default
            server_default = getattr(column.server_default, "arg", None)
            if isinstance(server_default, next_value):
                yield server_default.sequence


def _create_missing(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> PriorityDispatchResult:
    if autogen_context.connection is None or autogen_context.metadata is None:
        return PriorityDispatchResult.CONTINUE
    if not autogen_context.dialect.supports_sequences:
        return PriorityDispatchResult.CONTINUE
    existing: dict[str | None, set[str]] = {}
    missing: dict[tuple[str | None, str], Sequence] = {}
    for sequence in _used(autogen_context):
        if sequence.schema not in existing:
            existing[sequence.schema] = set(
                autogen_context.inspector.get_sequence_names(schema=sequence.schema)
            )
        if sequence.name not in existing[sequence.schema]:
            missing.setdefault((sequence.schema, sequence.name), sequence)
    for schema, name in missing:
        log.info("Detected added sequence %r", f"{schema}.{name}" if schema else name)
    upgrade_ops.ops[:0] = [CreateSequence(sequence) for sequence in missing.values()]
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(_create_missing, "autogenerate", priority=DispatchPriority.LAST)
