"""Bounded waits for a database server, with a line on stderr while waiting.

A server that accepts TCP and never answers would otherwise hang a command for the driver's own
timeout (asyncpg: 60 s, then a bare ``TimeoutError``) or for ever (asyncmy reads the server's
greeting without one). Imports neither SQLAlchemy nor a driver: the fast ``current``/``status``
path uses it too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from ..errors import AsyncMigrateError

T = TypeVar("T")
log = logging.getLogger("asyncmigrate")

#: Seconds to wait for a server to accept a connection and answer its first queries.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: After this long without an answer, say on stderr what we are waiting for.
NOTICE_AFTER = 1.0


class ConnectTimeout(AsyncMigrateError):
    """The server did not complete a connection, or its first queries, in time."""


async def bounded(work: Awaitable[T], where: str, timeout: float | None) -> T:
    """``work`` (a connect and its first round trips with the server at ``where``, host:port),
    given up after ``timeout`` seconds (None or 0: no bound) with an error naming the server;
    a line through logging once the wait is noticeable."""
    if not timeout:
        return await work
    notice = asyncio.get_running_loop().call_later(
        min(NOTICE_AFTER, timeout / 2),
        log.warning,
        "waiting for %s to answer (gives up after %gs)",
        where,
        timeout,
    )
    try:
        return await asyncio.wait_for(work, timeout)
    except asyncio.TimeoutError:
        raise ConnectTimeout(
            f"no answer from {where} within {timeout:g}s: the server accepted no connection or"
            " never answered it (is that the database's host and port, and is it up?);"
            " --connect-timeout S or connect_timeout in [tool.asyncmigrate] waits longer"
        ) from None
    finally:
        notice.cancel()
