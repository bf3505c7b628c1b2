"""Make Alembic's ``context`` and ``op`` module proxies local to the running task.

Alembic publishes the active ``EnvironmentContext`` and ``Operations`` as module globals
(``alembic.context._proxy``, ``alembic.op._proxy``). Two migrations awaited side by side in one
event loop (``asyncio.gather`` over two databases) interleave at every database round trip, so
with plain globals one migration's ``op.create_table`` can land on the other's connection.

Here each proxy is kept in a :class:`contextvars.ContextVar`. An asyncio task has its own
context, and SQLAlchemy's ``run_sync`` greenlet runs in the context of the task that awaits it,
so each migration sees only its own Alembic objects. A single migration behaves exactly as
before. :func:`install` is idempotent and is called when the runner is imported. Alembic's
private names this touches, and what happens when they change, are in internals/alembic.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any

from alembic.operations import Operations
from alembic.runtime.environment import EnvironmentContext

from .internals import alembic as alembic_internals

_VARS: dict[type, ContextVar[Any]] = {}
_TOKENS_ATTR = "_asyncmigrate_proxy_tokens"

#: Called with each EnvironmentContext as it becomes active in this context: how foreign.py
#: watches what a project's own env.py configures.
environment_hook: ContextVar[Callable[[Any], None] | None] = ContextVar(
    "asyncmigrate_environment_hook", default=None
)


class _Dispatcher:
    """Stands in for ``_proxy`` in the module; forwards to the task's current object."""

    def __init__(self, cls: type, var: ContextVar[Any]) -> None:
        self._cls = cls
        self._var = var

    def __getattr__(self, name: str) -> Any:
        target = self._var.get()
        if target is None:
            raise NameError(
                f"Can't invoke '{name}': no Alembic {self._cls.__name__} is active here."
                " Try placing this code inside a callable."
            )
        return getattr(target, name)


def _var_for(cls: type) -> ContextVar[Any]:
    for klass in cls.__mro__:
        if klass in _VARS:
            return _VARS[klass]
    raise KeyError(cls)


def _install_proxy(self: Any) -> None:
    tokens: list[Token[Any]] = self.__dict__.setdefault(_TOKENS_ATTR, [])
    tokens.append(_var_for(type(self)).set(self))
    if isinstance(self, EnvironmentContext):
        hook = environment_hook.get()
        if hook is not None:
            hook(self)


def _remove_proxy(self: Any) -> None:
    tokens: list[Token[Any]] = self.__dict__.get(_TOKENS_ATTR, [])
    if tokens:
        _var_for(type(self)).reset(tokens.pop())


def _hook_modules(cls: type) -> None:
    var: ContextVar[Any] = ContextVar(f"asyncmigrate_{cls.__name__}", default=None)
    _VARS[cls] = var
    attr_names = alembic_internals.proxied_names(cls)
    dispatcher = _Dispatcher(cls, var)

    def module_getattr(name: str) -> Any:
        target = var.get()
        if target is not None and name in attr_names:
            return getattr(target, name)
        raise AttributeError(name)

    def keep_active(active: Any) -> None:
        # Installed before us (the plain ``alembic`` command loading an env.py that
        # imports asyncmigrate): keep it active until Alembic removes it.
        active.__dict__.setdefault(_TOKENS_ATTR, []).append(var.set(active))

    alembic_internals.redirect_module_proxies(cls, dispatcher, module_getattr, keep_active)


def install() -> bool:
    """Route Alembic's module proxies through context variables (once per process). False when
    this Alembic's proxies have another shape: they are left as they are."""
    if not alembic_internals.MODULE_PROXIES.usable:
        return False
    if _VARS:
        return True
    for cls in (EnvironmentContext, Operations):
        _hook_modules(cls)
    alembic_internals.route_proxy_methods(_install_proxy, _remove_proxy)
    return True


def active(cls: type) -> Any:
    """The ``cls`` object (an EnvironmentContext, an Operations) active here, or None."""
    if install():
        return _var_for(cls).get()
    return alembic_internals.module_proxy_target(cls)


@contextlib.contextmanager
def activate(cls: type, target: Any) -> Iterator[None]:
    """Make ``target`` what ``alembic.op`` (or ``alembic.context``) resolves to, in this block.

    The linter uses this to hand a revision a recording stand-in for ``op``.
    """
    if not install():
        with alembic_internals.module_proxy_set(cls, target):
            yield
        return
    var = _var_for(cls)
    token = var.set(target)
    try:
        yield
    finally:
        var.reset(token)
