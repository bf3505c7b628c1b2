"""Alembic: the private names asyncmigrate uses, each checked once and with its fallback.

* ``HeadMaintainer._update_version`` (tables/version_update.py): Alembic builds and compiles a new UPDATE
  of the version table for every revision (a tenth of the client's time on an upgrade of 500
  small revisions); ours sends the same text from a template compiled once, and on asyncpg
  carries the revision's history row with it. The method is replaced on the class only while a
  run of ours is inside :func:`version_update_hook` (counted, so runs side by side share it) and
  put back when the last one ends; contexts we did not enable go to Alembic's own method.
  Fallback: no replacement (Alembic's UPDATE, the history row in a statement of its own).
  Worth 1.10x (SQLite) and 1.20x (PostgreSQL) on ``upgrade head`` of 500 revisions
  (``bench/run tricks``, 2026-12-03).
* ``Script._db_current_indicator`` (graph/text.py): the " (current)" marker of ``history -i``;
  Alembic's ``command.history`` sets it the same way and has no public setter. Fallback:
  :class:`IndicatorUnavailable`, on which the CLI runs Alembic's own ``command.history``.
* ``alembic.autogenerate.compare.util._INSP_KEYS`` (reflection/batched.py): the Inspector cache
  keys Alembic pre-loads under, so every schema of ``include_schemas`` is loaded with
  ``get_multi_*`` and SQLite's batched catalog is released once Alembic holds its copy.
  Fallback: None, and Alembic's own per-schema reads answer. Kept although ``bench/run tricks``
  shows 0.98x to 1.05x on ``check`` of one schema: what it buys (several schemas, the memory of
  the catalog) is not in that benchmark yet.
* ``ModuleClsProxy._setups``, ``_install_proxy``, ``_remove_proxy`` and the ``_proxy`` global of
  ``alembic.op``/``alembic.context`` (apply/task_local.py): Alembic's ``op`` and ``context`` are module
  globals, so two migrations awaited side by side in one loop would see each other's; they are
  routed through context variables instead, only while a run of ours is going.
  This is for correctness, not speed, and has no public equivalent. Fallback: Alembic's
  globals as they are (one migration at a time per process, as with plain Alembic); the watch
  of a project's own env.py then refuses to run rather than risk another database.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from . import trick


def _params(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


# -- the version-row UPDATE ----------------------------------------------------------------------


@trick("alembic.update_version", "the version UPDATE from a template compiled once")
def UPDATE_VERSION() -> bool:
    from alembic.runtime.migration import HeadMaintainer

    original = HeadMaintainer.__dict__.get("_update_version")
    return callable(original) and _params(original) == ["self", "from_", "to_"]


_hook_lock = threading.Lock()
_hook_users = 0
_alembic_update_version: Callable[..., None] | None = None


def alembic_update_version(head_maintainer: Any, from_: str, to_: str) -> None:
    """Alembic's own ``HeadMaintainer._update_version``, for a context we did not enable."""
    assert _alembic_update_version is not None
    _alembic_update_version(head_maintainer, from_, to_)


@contextlib.contextmanager
def version_update_hook(replacement: Callable[[Any, str, str], None]) -> Iterator[bool]:
    """``HeadMaintainer._update_version`` is ``replacement`` in this block (True), and Alembic's
    again once the last block using it ends; False (and nothing replaced) when Alembic's method
    has another shape. ``replacement`` must call :func:`alembic_update_version` for contexts it
    does not handle: the class is shared by every thread of the process while replaced."""
    if not UPDATE_VERSION.usable:
        yield False
        return
    from alembic.runtime.migration import HeadMaintainer

    global _hook_users, _alembic_update_version
    with _hook_lock:
        if _hook_users == 0:
            _alembic_update_version = HeadMaintainer.__dict__["_update_version"]
            setattr(HeadMaintainer, "_update_version", replacement)  # noqa: B010  (mypy: a method)
        _hook_users += 1
    try:
        yield True
    finally:
        with _hook_lock:
            _hook_users -= 1
            if _hook_users == 0:
                if HeadMaintainer.__dict__.get("_update_version") is replacement:
                    setattr(HeadMaintainer, "_update_version", _alembic_update_version)  # noqa: B010


# -- history -i --------------------------------------------------------------------------------------


class IndicatorUnavailable(Exception):
    """This Alembic's ``Script`` no longer takes the " (current)" marker the way it used to."""


def indicate_current(script: Any, on: bool) -> None:
    """Set the marker ``alembic history -i`` sets. On an Alembic ``Script`` that is its
    ``_db_current_indicator`` attribute (no public way exists; ``command.history`` sets it the
    same way); the marker is checked to show, else :class:`IndicatorUnavailable`."""
    try:
        script._db_current_indicator = on
    except AttributeError as exc:
        raise IndicatorUnavailable(str(exc)) from exc
    if on and " (current)" not in script.cmd_format(False):
        raise IndicatorUnavailable("Script.cmd_format ignores _db_current_indicator")


# -- autogenerate's Inspector cache keys -----------------------------------------------------------


@trick("alembic.insp_keys", "every schema's tables loaded with get_multi_*")
def INSP_KEYS() -> bool:
    from alembic.autogenerate.compare.util import _INSP_KEYS
    from sqlalchemy.engine import Inspector

    return bool(_INSP_KEYS) and all(
        isinstance(key, str) and callable(getattr(Inspector, f"get_multi_{key}", None)) for key in _INSP_KEYS
    )


def inspector_cache_keys() -> tuple[str, ...] | None:
    """The keys Alembic pre-loads the Inspector cache under (``alembic_<key>``, filled from
    ``get_multi_<key>``); None when this Alembic does not pre-load that way."""
    if not INSP_KEYS.usable:
        return None
    from alembic.autogenerate.compare.util import _INSP_KEYS

    return tuple(_INSP_KEYS)


# -- the op / context module proxies -----------------------------------------------------------------

#: The module global through which Alembic's ``op.*`` and ``context.*`` functions reach their object.
_PROXY = "_proxy"


@trick("alembic.module_proxies", "op and context local to the running task")
def MODULE_PROXIES() -> bool:
    import alembic.context
    import alembic.op  # noqa: F401  (registers the module proxies)
    from alembic.operations import Operations
    from alembic.runtime.environment import EnvironmentContext
    from alembic.util.langhelpers import ModuleClsProxy

    setups = ModuleClsProxy._setups
    for cls in (EnvironmentContext, Operations):
        if cls not in setups:
            return False
        attr_names, modules = setups[cls]
        if not isinstance(attr_names, set) or not modules:
            return False
        if not all(isinstance(globals_, MutableMapping) for globals_, _ in modules):
            return False
    return _params(ModuleClsProxy._install_proxy) == ["self"] and _params(ModuleClsProxy._remove_proxy) == [
        "self"
    ]


def proxied_names(cls: type) -> set[str]:
    """The attribute names Alembic copies into its modules from the active ``cls`` object."""
    from alembic.util.langhelpers import ModuleClsProxy

    return set(ModuleClsProxy._setups[cls][0])


def redirect_module_proxies(
    cls: type, dispatcher: Any, module_getattr: Callable[[str], Any], keep_active: Callable[[Any], None]
) -> None:
    """Point every module proxying ``cls`` (``alembic.op``, ``alembic.context``) at
    ``dispatcher``, with attributes from ``module_getattr``; an object already active there is
    handed to ``keep_active`` first."""
    from alembic.util.langhelpers import ModuleClsProxy

    attr_names, modules = ModuleClsProxy._setups[cls]
    for globals_, _locals in modules:
        active = globals_.get(_PROXY)
        if isinstance(active, cls):
            keep_active(active)
        globals_[_PROXY] = dispatcher
        for name in attr_names:
            globals_.pop(name, None)
        globals_["__getattr__"] = module_getattr


def route_proxy_methods(install: Any, remove: Any) -> tuple[Any, Any]:
    """What an Alembic object does when it becomes (or stops being) the active ``op``/``context``;
    the methods in place before, to put back with the same call."""
    from alembic.util.langhelpers import ModuleClsProxy

    previous = (ModuleClsProxy.__dict__["_install_proxy"], ModuleClsProxy.__dict__["_remove_proxy"])
    ModuleClsProxy._install_proxy = install  # type: ignore[method-assign]
    ModuleClsProxy._remove_proxy = remove  # type: ignore[method-assign]
    return previous


def restore_module_proxies(cls: type, active: Any) -> None:
    """Undo :func:`redirect_module_proxies`: the modules as Alembic's own methods leave them,
    with ``active`` installed (as ``_install_proxy`` does) or no object (as ``_remove_proxy``)."""
    from alembic.util.langhelpers import ModuleClsProxy

    attr_names, modules = ModuleClsProxy._setups[cls]
    for globals_, _locals in modules:
        globals_.pop("__getattr__", None)
        globals_[_PROXY] = active
        if active is not None:
            for name in attr_names:
                globals_[name] = getattr(active, name)


def module_proxy_target(cls: type) -> Any:
    """Alembic's own way: the object its ``op`` (or ``context``) module global points at."""
    from alembic.util.langhelpers import ModuleClsProxy

    for globals_, _ in ModuleClsProxy._setups[cls][1]:
        target = globals_.get(_PROXY)
        if isinstance(target, cls):
            return target
    return None


@contextlib.contextmanager
def module_proxy_set(cls: type, target: Any) -> Iterator[None]:
    """Alembic's own way: ``target`` is the module-global ``op`` (or ``context``) in the block.
    What :func:`asyncmigrate.apply.task_local.activate` does when the proxies are not routed."""
    from alembic.util.langhelpers import ModuleClsProxy

    attr_names, modules = ModuleClsProxy._setups[cls]
    saved = [(globals_, globals_.get(_PROXY)) for globals_, _ in modules]
    for globals_, _ in modules:
        globals_[_PROXY] = target
    try:
        yield
    finally:
        for globals_, previous in saved:
            globals_[_PROXY] = previous
