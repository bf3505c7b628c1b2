"""Our Alembic autogenerate plugins, each made known to Alembic once per process (Alembic refuses a
second registration of a name), and the one list a project's env.py passes to Alembic."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from alembic.operations import ops
from alembic.runtime.plugins import Plugin

#: Alembic's own plugins, what ``autogenerate_plugins`` means when it is not given.
ALEMBIC_DEFAULT = ("alembic.autogenerate.*",)

#: What autogenerate writes beyond Alembic's comparison, in the order they run: each module has a
#: ``setup(plugin)`` and a ``PLUGIN_NAME``. (Batched reflection is a speed path our own commands
#: switch on; it is not in this list.)
OURS: tuple[str, ...] = (
    "asyncmigrate.autogenerate.defaults",
    "asyncmigrate.autogenerate.keys",
    "asyncmigrate.autogenerate.indexes",
    "asyncmigrate.autogenerate.partitions",
    "asyncmigrate.autogenerate.renames",
    "asyncmigrate.autogenerate.objects",  # runs the table steps: before the ops of our own below
    "asyncmigrate.autogenerate.enums",  # after renames: a renamed table is not a dropped one
    "asyncmigrate.autogenerate.casts",  # after enums: sees the type changes left as ALTERs
    "asyncmigrate.autogenerate.sequences",
    "asyncmigrate.autogenerate.type_imports",  # last: sees the types every other one wrote
)

_registered: set[str] = set()


def register_once(module: ModuleType, name: str) -> None:
    """Register ``module`` (its ``setup(plugin)``) under ``name``, unless already done; a run
    still has to ask for it in ``autogenerate_plugins``."""
    if name in _registered:
        return
    try:
        Plugin.setup_plugin_from_module(module, name)
    except ValueError:  # "already registered": by another import of the module
        pass
    _registered.add(name)


#: Alembic 1.19.0 and 1.19.1 compare CHECK constraints by name under the default wildcard, and
#: read the ones an Enum or Boolean makes, or a column's own, as removed (alembic #1859, #1842);
#: later releases made the comparison opt-in, under another name. The same holds here: it runs
#: when a project names it.
_CHECKS_BY_NAME = "alembic.autogenerate.checkconstraint_byname"


def autogenerate_plugins(plugins: Sequence[str] = ALEMBIC_DEFAULT) -> list[str]:
    """The value for ``context.configure(autogenerate_plugins=...)``: ``plugins`` (Alembic's
    default set unless given) and all of ours, registered with Alembic."""
    names = list(plugins)
    if "alembic.autogenerate.*" in names and not any("checkconstraint" in name for name in names):
        names.append(f"~{_CHECKS_BY_NAME}")
    for module_name in OURS:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        name: str = module.PLUGIN_NAME
        register_once(module, name)
        if name not in names:
            names.append(name)
    return names


def drop_emptied_tables(upgrade_ops: ops.UpgradeOps) -> None:
    """Take out the table blocks a plugin emptied (Alembic would render ``pass`` in them)."""
    upgrade_ops.ops = [
        op for op in upgrade_ops.ops if not (isinstance(op, ops.ModifyTableOps) and op.is_empty())
    ]
