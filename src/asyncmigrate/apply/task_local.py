"""Make Alembic's ``context`` and ``op`` module proxies local to the running task, during our runs.

Alembic publishes the active ``EnvironmentContext`` and ``Operations`` as module globals
(``alembic.context._proxy``, ``alembic.op._proxy``). Two migrations awaited side by side in one
event loop (``asyncio.gather`` over two databases) interleave at every database round trip, so
with plain globals one migration's ``op.create_table`` can land on the other's connection.

Inside :func:`routed`, each proxy is kept in a :class:`contextvars.ContextVar`. An asyncio task
has its own context, and SQLAlchemy's ``run_sync`` greenlet runs in the context of the task that
awaits it, so each migration sees only its own Alembic objects. A single migration behaves
exactly as before. Routing starts with the first run of ours and ends with the last one (runs
side by side share it, from any thread); Alembic's modules and ``ModuleClsProxy`` are then as
they were. An Alembic object made active while routed keeps the routing until it is removed, so
that Alembic's own methods never meet a module they did not set up. Alembic's private names this
touches, and what happens when they change, are in internals/alembic.py.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any

from alembic.operations import Operations
from alembic.runtime.environment import EnvironmentContext

from ..internals import alembic as alembic_internals

_CLASSES = (EnvironmentContext, Operations)
_VARS: dict[type, ContextVar[Any]] = {
    cls: ContextVar(f"asyncmigrate_{cls.__name__}", default=None) for cls in _CLASSES
}
_TOKENS_ATTR = "_asyncmigrate_proxy_tokens"

_lock = threading.RLock()
_users = 0
_routed = False
#: Alembic's own methods, while ours replace them.
_saved_methods: tuple[Any, Any] | None = None
#: An object Alembic made active before routing began (a plain ``alembic`` run): what ``op`` or
#: ``context`` means where no object of this context is active.
_defaults: dict[type, Any] = {}
#: Objects made active while routed and not removed yet.
_live: weakref.WeakSet[Any] = weakref.WeakSet()

#: Called with each EnvironmentContext as it becomes active in this context: how apply/project_env.py
#: watches what a project's own env.py configures.
environment_hook: ContextVar[Callable[[Any], None] | None] = ContextVar(
    "asyncmigrate_environment_hook", default=None
)


def _base(cls: type) -> type:
    for klass in cls.__mro__:
        if klass in _VARS:
            return klass
    raise KeyError(cls)


def _current(cls: type) -> Any:
    base = _base(cls)
    target = _VARS[base].get()
    return target if target is not None else _defaults.get(base)


class _Dispatcher:
    """Stands in for ``_proxy`` in the module; forwards to the task's current object."""

    def __init__(self, cls: type) -> None:
        self._cls = cls

    def __getattr__(self, name: str) -> Any:
        target = _current(self._cls)
        if target is None:
            raise NameError(
                f"Can't invoke '{name}': no Alembic {self._cls.__name__} is active here."
                " Try placing this code inside a callable."
            )
        return getattr(target, name)


def _install_proxy(self: Any) -> None:
    tokens: list[Token[Any]] = self.__dict__.setdefault(_TOKENS_ATTR, [])
    tokens.append(_VARS[_base(type(self))].set(self))
    _live.add(self)
    if isinstance(self, EnvironmentContext):
        hook = environment_hook.get()
        if hook is not None:
            hook(self)


def _remove_proxy(self: Any) -> None:
    base = _base(type(self))
    tokens: list[Token[Any]] = self.__dict__.get(_TOKENS_ATTR, [])
    if tokens:
        _VARS[base].reset(tokens.pop())
    with _lock:
        if not tokens:
            _live.discard(self)
            if _defaults.get(base) is self:
                del _defaults[base]
        if _users == 0 and not _live:
            _unroute()


def _route() -> None:
    global _routed, _saved_methods
    for cls in _CLASSES:
        attr_names = alembic_internals.proxied_names(cls)

        def module_getattr(name: str, _cls: type = cls, _names: set[str] = attr_names) -> Any:
            target = _current(_cls)
            if target is not None and name in _names:
                return getattr(target, name)
            raise AttributeError(name)

        def keep_active(active: Any, _cls: type = cls) -> None:
            _defaults[_cls] = active

        alembic_internals.redirect_module_proxies(cls, _Dispatcher(cls), module_getattr, keep_active)
    _saved_methods = alembic_internals.route_proxy_methods(_install_proxy, _remove_proxy)
    _routed = True


def _unroute() -> None:
    global _routed, _saved_methods
    if not _routed or _saved_methods is None:
        return
    alembic_internals.route_proxy_methods(*_saved_methods)
    _saved_methods = None
    for cls in _CLASSES:
        alembic_internals.restore_module_proxies(cls, _defaults.pop(cls, None))
    _routed = False


@contextlib.contextmanager
def routed() -> Iterator[bool]:
    """Alembic's ``op``/``context`` follow the running task in this block (True); False, and
    Alembic's globals as they are, when this Alembic's proxies have another shape."""
    global _users
    with _lock:
        if not _routed:
            if not alembic_internals.MODULE_PROXIES.usable:
                usable = False
            else:
                _route()
                usable = True
        else:
            usable = True
        if usable:
            _users += 1
    if not usable:
        yield False
        return
    try:
        yield True
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and not _live:
                _unroute()


def active(cls: type) -> Any:
    """The ``cls`` object (an EnvironmentContext, an Operations) active here, or None."""
    if _routed:
        return _current(cls)
    return alembic_internals.module_proxy_target(cls)


@contextlib.contextmanager
def activate(cls: type, target: Any) -> Iterator[None]:
    """Make ``target`` what ``alembic.op`` (or ``alembic.context``) resolves to, in this block.

    The linter uses this to hand a revision a recording stand-in for ``op``.
    """
    with routed() as usable:
        if not usable:
            with alembic_internals.module_proxy_set(cls, target):
                yield
            return
        var = _VARS[_base(cls)]
        token = var.set(target)
        try:
            yield
        finally:
            var.reset(token)
