"""A project's own ``env.py`` (not written by ``asyncmigrate init``), run as Alembic runs it.

Two things are added around it:

* It runs in a worker thread, and that thread is AnyIO's when AnyIO is installed. Such an env.py
  calls ``asyncio.run`` (Alembic's async template, the tutorial's), which needs a thread with no
  loop, or ``anyio.from_thread.run`` back into the caller's loop (async applications that run
  Alembic's commands with ``anyio.to_thread.run_sync``), which needs an AnyIO worker thread whose
  loop is free. Both work here, and so does a plain sync env.py.
* Which database it migrates is watched. ``context.configure(connection=...)`` is where every
  env.py says so, wherever it took the URL from (alembic.ini, its application's settings, the
  environment). From there we learn the URL when alembic.ini holds only a placeholder
  (``driver://unused``), refuse to migrate a database other than the one the apply lock was
  taken on, and run on the database we were told to use (``--url``, the test harness's
  throwaway database) when the env.py would connect elsewhere: Alembic is then configured with
  a connection to that database instead of the env.py's own.

The watch is attached to each ``EnvironmentContext`` as Alembic enters it (see
:data:`asyncmigrate.apply.task_local.environment_hook`), as an attribute of that one object: no class is
changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import URL, Connection, make_url

from ..dialects import for_backend
from ..errors import ConfigError
from . import task_local
from .environment import Progress

log = logging.getLogger("asyncmigrate")
T = TypeVar("T")


def is_usable_url(url: str | None) -> bool:
    """False for a placeholder such as ``driver://unused``: no URL, or a dialect that does not
    exist. The driver itself is not imported."""
    if not url:
        return False
    try:
        make_url(url).get_dialect()
    except Exception:
        return False
    return True


def _identity(url: str | URL) -> tuple[str, str | None, int | None, str | None]:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    return (backend, *for_backend(backend).identity(parsed))


def same_database(one: str | URL, other: str | URL) -> bool:
    """Whether two URLs name the same database, whatever the driver and credentials."""
    try:
        return _identity(one) == _identity(other)
    except Exception:
        return False


def shown(url: str | URL) -> str:
    """A URL for a message: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return str(url)


@dataclass
class Watch:
    """What to check when an env.py configures Alembic's context, and what it configured."""

    #: The database we mean to run on; None: only learn which one the env.py picks.
    target: str | None = None
    #: When the env.py connects elsewhere: run on ``target`` instead (True), or refuse (False).
    redirect: bool = False
    #: Where ``target`` came from, for the refusal ("alembic.ini", "DATABASE_URL").
    source: str = ""
    env_py: str = "env.py"
    #: The URL (with password) of each database the env.py configured, in order.
    seen: list[str] = field(default_factory=list)
    #: Told of each revision as it starts and once it is applied, as our own env.py tells it.
    progress: Progress | None = None
    _opened: list[tuple[Connection, Any]] = field(default_factory=list)

    def attach(self, environment: Any) -> None:
        """Watch one EnvironmentContext: its ``configure`` and ``begin_transaction``."""
        configure = environment.configure
        begin_transaction = environment.begin_transaction

        def watched_configure(connection: Any = None, url: Any = None, *args: Any, **kw: Any) -> Any:
            if connection is not None and not environment.is_offline_mode():
                connection = self._check(connection)
            elif url is not None:
                self.seen.append(url if isinstance(url, str) else url.render_as_string(hide_password=False))
            if self.progress is not None:
                kw.update(_reporting_steps(environment, self.progress, kw))
            if _compares(environment):
                kw["autogenerate_plugins"] = _with_our_plugins(kw.get("autogenerate_plugins"))
            return configure(connection, url, *args, **kw)

        @contextlib.contextmanager
        def watched_begin_transaction(*args: Any, **kw: Any) -> Iterator[Any]:
            try:
                with begin_transaction(*args, **kw) as transaction:
                    yield transaction
            finally:
                self.close()  # in the env.py's own loop and greenlet, where it was opened

        environment.configure = watched_configure
        environment.begin_transaction = watched_begin_transaction

    def _check(self, connection: Any) -> Any:
        url = getattr(connection, "engine", connection).url
        self.seen.append(url.render_as_string(hide_password=False))
        if self.target is None or same_database(url, self.target):
            return connection
        if not self.redirect:
            raise ConfigError(
                f"{self.env_py} migrates {shown(url)}, but the apply lock and the state reads use"
                f" {shown(self.target)} ({self.source}): give the database with --url"
            )
        log.debug("env.py connects to %s; running on %s instead", shown(url), shown(self.target))
        return self._open(connection, make_url(self.target))

    def _open(self, theirs: Connection, target: URL) -> Connection:
        """A connection to ``target`` usable where the env.py's own one is: in its greenlet
        when its driver is async, plain otherwise."""
        from sqlalchemy import create_engine, pool
        from sqlalchemy.ext.asyncio import create_async_engine

        their_url = theirs.engine.url
        if their_url.get_backend_name() == target.get_backend_name():
            target = target.set(drivername=their_url.drivername)  # the env.py's driver and mode
        if target.get_dialect().is_async:
            if not theirs.dialect.is_async:
                raise ConfigError(
                    f"{self.env_py} runs sync ({their_url.drivername}), so it cannot run on"
                    f" {shown(target)}: give a URL with a sync driver"
                )
            engine: Any = create_async_engine(target, poolclass=pool.NullPool)
            connection = engine.sync_engine.connect()
        else:
            engine = create_engine(target, poolclass=pool.NullPool)
            connection = engine.connect()
        self._opened.append((connection, engine))
        return connection

    def close(self) -> None:
        while self._opened:
            connection, engine = self._opened.pop()
            try:
                connection.close()
                getattr(engine, "sync_engine", engine).dispose()
            except Exception as exc:  # outside the env.py's loop: the server drops it anyway
                log.debug("could not close the connection opened for env.py: %s", exc)


def _compares(environment: Any) -> bool:
    """Whether the run compares models with the database: Alembic gives ``revision`` and ``check``
    a revision context, and no other command. The others skip importing our plugins (about 50 ms)."""
    options = getattr(environment, "context_opts", None)
    return not isinstance(options, dict) or options.get("revision_context") is not None


def _with_our_plugins(plugins: Any) -> list[str]:
    """The env.py's autogenerate plugins (Alembic's own unless it names some) and ours: declared
    renames, defaults compared as the database spells them (where the env.py compares defaults),
    partitions kept, the imports of the types a file names. Each changes nothing a project
    did not ask for; ``alembic`` itself, run on the same env.py, goes without them."""
    from ..autogenerate.plugins import ALEMBIC_DEFAULT, autogenerate_plugins

    return autogenerate_plugins(ALEMBIC_DEFAULT if plugins is None else plugins)


def _reporting_steps(environment: Any, progress: Progress, options: dict[str, Any]) -> dict[str, Any]:
    """``fn`` and ``on_version_apply`` for the env.py's ``context.configure``: the command's steps
    and the env.py's own callbacks (if it passes any), each step reported to ``progress`` as it
    starts and once it is applied. Both are Alembic's public configure options."""
    steps_for = options.get("fn", environment.context_opts.get("fn"))
    if steps_for is None:
        return {}

    def steps(heads: Any, context: Any) -> Iterator[Any]:
        for step in steps_for(heads, context):
            revision = getattr(step, "revision", None)
            if revision is not None and not getattr(step, "is_stamp", False):
                progress.step_started(revision.revision, "upgrade" if step.is_upgrade else "downgrade")
            yield step

    def applied(*, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        direction = "upgrade" if step.is_upgrade else "downgrade"
        for revision in step.up_revision_ids:
            progress.step_done(revision, direction)

    theirs = options.get("on_version_apply") or ()
    callbacks = [theirs] if callable(theirs) else list(theirs)
    return {"fn": steps, "on_version_apply": [*callbacks, applied]}


@contextlib.contextmanager
def watching(watch: Watch) -> Iterator[Watch]:
    """Attach ``watch`` to every EnvironmentContext entered in this block (this context only)."""
    with task_local.routed() as usable:
        if not usable:
            raise ConfigError(
                "this Alembic's op/context proxies have changed, so asyncmigrate cannot watch which"
                " database the project's own env.py migrates: run it with the alembic command"
            )
        token = task_local.environment_hook.set(watch.attach)
        try:
            yield watch
        finally:
            task_local.environment_hook.reset(token)
            watch.close()


def run_watched(watch: Watch, command: Callable[..., T], *args: Any) -> T:
    """``command(*args)`` (an Alembic command, in the worker thread) under ``watch``."""
    with watching(watch):
        return command(*args)


async def in_worker(function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` in a daemon thread of its own (see :func:`in_own_thread`), claimed as an
    AnyIO worker thread when AnyIO is installed, so an env.py that calls
    ``anyio.from_thread.run`` finds its way back into this loop."""
    try:
        from anyio import to_thread
    except ImportError:
        to_thread = None  # type: ignore[assignment, unused-ignore]  # outside the except: no chaining
    if to_thread is None:
        return await in_own_thread(function, *args)
    from ..internals.anyio import worker_claim

    claim = worker_claim()
    if claim is None:
        return await to_thread.run_sync(function, *args)

    def claimed(*arguments: Any) -> T:
        with claim():
            return function(*arguments)

    return await in_own_thread(claimed, *args)


async def in_own_thread(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a daemon thread of its own that ends with it. Not the loop's
    default executor: an env.py may leave threading unusable for joining that pool's idle
    workers (cinder's imports eventlet), and ``asyncio.run`` and the interpreter's exit join
    them; plain Alembic runs the env.py in the main thread and never waits for such a worker."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: Any, error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def run() -> None:
        try:
            result = context.run(function, *args)
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting task
            loop.call_soon_threadsafe(settle, None, error)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name="asyncmigrate-env.py", daemon=True).start()
    return await done


class LoopPortal:
    """Lets a worker thread await something in the loop that started it (and waits for it)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()

    def call(self, function: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        return asyncio.run_coroutine_threadsafe(function(*args), self.loop).result()


def learn_url(config: Any, script: Any, env_py: str) -> str | None:
    """Run the env.py as ``alembic current`` does (no step, nothing written) and return the URL
    of the database it connects to. In the worker thread."""
    from alembic.runtime.environment import EnvironmentContext

    watch = Watch(env_py=env_py)
    with watching(watch), EnvironmentContext(config, script, fn=lambda _rev, _context: [], dont_mutate=True):
        script.run_env()
    return watch.seen[0] if watch.seen else None
