"""Errors a user can cause, and the translation of library exceptions into one clear line.

Every failure that reaches the command line goes through :func:`describe`, which turns the
exception chain (SQLAlchemy, the driver, Alembic, the OS) into a sentence that names what went
wrong and what to do. The traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator, Sequence
from typing import Any


class AsyncMigrateError(Exception):
    """An error with a message meant for the user, printed as it is."""


class ConfigError(AsyncMigrateError):
    """The project's configuration is missing or wrong."""


class ModelDiscoveryError(AsyncMigrateError):
    """The models could not be imported, or no MetaData was found."""


class EmptyModelsError(AsyncMigrateError):
    """Autogenerate would drop every table because no model was found."""


class MissingRevisionError(AsyncMigrateError):
    """A revision names a parent whose file is gone: Alembic cannot build the graph."""

    def __init__(self, message: str, missing: str) -> None:
        super().__init__(message)
        self.missing = missing


class MissingDriverError(AsyncMigrateError):
    """The database driver named in the URL is not installed."""


def current_file_gone(lost: Sequence[str], *, nothing_run: bool = False) -> str:
    """The database is at revisions whose files are gone: what ``upgrade`` says when it refuses,
    and what ``status`` warns of, in the same words."""
    ran = " (nothing was run)" if nothing_run else ""
    return (
        f"the database is at {', '.join(lost)}, whose revision file is gone{ran}: restore the file;"
        " or, if it is lost for good, stamp the database at a revision that exists"
        " ('asyncmigrate stamp --purge REV') and acknowledge the loss"
        f" ('asyncmigrate verify --accept {' '.join(lost)}')"
    )


def multiple_heads(heads: Sequence[str]) -> str:
    """More than one head where a command needs one: how to go on."""
    return (
        f"multiple heads ({', '.join(heads)}) where one is needed: merge them with"
        " 'asyncmigrate merge heads -m \"merge\"', or name one, or use 'heads'"
    )


def _make_url(url: str) -> Any:
    """SQLAlchemy's URL parser, imported only when an error needs it."""
    from sqlalchemy.engine import make_url

    return make_url(url)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
        orig = getattr(current, "orig", None)
        if current is not None and isinstance(orig, BaseException):
            yield orig


def driver_errors(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, each followed by the driver error it wraps (``.orig``):
    where a database's error code is found, whichever layer raised it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            yield orig
        current = current.__cause__ or current.__context__


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of a driver error (asyncpg: ``sqlstate``, psycopg: ``pgcode``)."""
    return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)


def mysql_code(exc: BaseException) -> int | None:
    """MySQL's / MariaDB's error number of a driver error (its first argument)."""
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def missing_driver(module: str, url: str) -> MissingDriverError:
    """The error for a URL whose driver module cannot be imported."""
    from .dialects import extra_for_driver, for_backend

    extra = extra_for_driver(module)
    drivername = _safe_drivername(url)
    if extra:
        hint = f"pip install 'asyncmigrate[{extra}]'"
    else:
        hint = f"pip install {module}"
        backend = drivername.split("+")[0]
        async_driver = for_backend(backend).async_driver
        if async_driver and "+" not in drivername:
            hint += f", or use the async driver: {backend}+{async_driver}://"
    return MissingDriverError(
        f"the database driver '{module}' (for {drivername}://) is not installed: {hint}"
    )


def _safe_drivername(url: str | None) -> str:
    try:
        return _make_url(url).drivername if url else "?"
    except Exception:
        return "?"


def _host_of(url: str | None) -> str | None:
    try:
        return _make_url(url).host if url else None
    except Exception:
        return None


def _shown_path(path: str) -> str:
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    except ValueError:
        return path


def failed_import(exc: BaseException) -> str | None:
    """``cannot import FILE, line N: ...`` when ``exc`` was raised while Alembic imported a
    revision file (its module-level code, or a module it imports), else None.

    Alembic loads each revision with ``alembic/util/pyfiles.py``: the frame right after the last
    of those, when it runs module-level code of a file other than env.py, is the revision file.
    """
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    loader = None
    for index, frame in enumerate(frames):
        if frame.tb_frame.f_code.co_filename.endswith(os.path.join("alembic", "util", "pyfiles.py")):
            loader = index
    if loader is None:
        return None
    for frame in frames[loader + 1 :]:
        code = frame.tb_frame.f_code
        if code.co_filename.startswith("<frozen"):
            continue
        if code.co_name != "<module>" or os.path.basename(code.co_filename) == "env.py":
            return None
        text = (str(exc).strip().splitlines() or [""])[0] or type(exc).__name__
        return (
            f"cannot import the revision file {_shown_path(code.co_filename)}, line {frame.tb_lineno}: {text}"
        )
    return None


def _hide_password(url: str) -> str:
    """``user:***@host``, in a string that may not even parse as a URL."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    prefix, slash, userinfo = head.rpartition("/")
    user, colon, _ = userinfo.partition(":")
    return f"{prefix}{slash}{user}{colon}{'***' if colon else ''}@{tail}"


def _unparsable_url(exc: BaseException, url: str | None) -> str | None:
    """A URL SQLAlchemy cannot parse fails deep inside it (ArgumentError, ValueError for the port)."""
    if not url or not any(
        isinstance(link, (ValueError,)) or type(link).__name__ == "ArgumentError" for link in _chain(exc)
    ):
        return None
    try:
        _make_url(url)
    except Exception as problem:  # noqa: BLE001  (whatever the parser says is the reason)
        return unparsable_url(url, problem)
    return None


def unparsable_url(url: str, problem: BaseException) -> str:
    """The line for a URL SQLAlchemy cannot parse; a password in it is not shown."""
    reason = (str(problem).strip().splitlines() or [type(problem).__name__])[0]
    reason = reason.replace(url, _hide_password(url))  # some versions quote the whole string
    return (
        f"not a database URL: {_hide_password(url)!r} ({reason});"
        " expected dialect+driver://user:password@host:port/database"
    )


def describe(exc: BaseException, url: str | None = None) -> str:
    """One line that says what failed and, where we know it, how to fix it."""
    if isinstance(exc, AsyncMigrateError):
        return str(exc)
    for message in (failed_import(exc), _unparsable_url(exc, url)):
        if message:
            return message
    host = _host_of(url)
    for link in _chain(exc):
        if isinstance(link, AsyncMigrateError):
            return str(link)
        if isinstance(link, socket.gaierror):
            hint = ""
            if host and "." not in host and host not in ("localhost",):
                hint = (
                    f" (hint: '{host}' looks like a Docker Compose service name, which only"
                    " resolves inside that network; from this machine use localhost or set"
                    " DATABASE_URL)"
                )
            return f"cannot resolve host '{host or '?'}'{hint}"
        if isinstance(link, ConnectionRefusedError) or (
            isinstance(link, OSError) and link.errno in (111, 61)
        ):
            port = _port_of(url)
            return (
                f"cannot connect to {host or 'the server'}:{port}: connection refused"
                " (is the server running?)"
            )
        if isinstance(link, ModuleNotFoundError) and link.name:
            top = link.name.split(".")[0]
            if top == "greenlet":
                return (
                    "greenlet is not installed but SQLAlchemy's asyncio support needs it:"
                    " pip install greenlet (or reinstall asyncmigrate)"
                )
            return str(missing_driver(top, url or ""))
        if isinstance(link, SyntaxError) and link.filename:
            return f"syntax error in {link.filename}, line {link.lineno}: {link.msg}"
        message = _driver_message(link)
        if message:
            return message
        if type(link).__name__ == "DatabaseError" and "file is not a database" in str(link):
            path = (url or "").split(":///", 1)[-1].split("?", 1)[0] or "?"
            return f"{path} is not an SQLite database (file is not a database): check the URL"
    from alembic.util import CommandError

    for link in _chain(exc):
        if isinstance(link, CommandError):
            return str(link)
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__


def _port_of(url: str | None) -> str:
    try:
        parsed = _make_url(url) if url else None
    except Exception:
        parsed = None
    if parsed is None:
        return "?"
    if parsed.port:
        return str(parsed.port)
    from .dialects import for_backend

    port = for_backend(parsed.get_backend_name()).default_port
    return str(port) if port else "?"


def _driver_message(link: BaseException) -> str | None:
    """Recognise the drivers' own exceptions that users cause: auth, unknown database."""
    name = type(link).__name__
    text = str(link).strip().splitlines()[0] if str(link).strip() else ""
    text = re.sub(r"^\([\w.]+\) ", "", text)  # SQLAlchemy's "(driver.Error) " prefix
    if name == "InvalidPasswordError" or "password authentication failed" in text:
        return f"authentication failed: {text}"
    if name == "InvalidCatalogNameError":
        return f"database does not exist: {text}"
    if name == "OperationalError" and "Access denied" in text:
        return f"authentication failed: {text}"
    if name == "OperationalError" and "unable to open database file" in text:
        return f"cannot open the SQLite database file: {text}"
    return None
