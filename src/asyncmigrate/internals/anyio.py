"""AnyIO: make a thread of our own an AnyIO worker thread of the running loop.

Why: a project's env.py may call ``anyio.from_thread.run`` back into the caller's loop, which
needs an AnyIO worker thread. AnyIO's own worker threads come from a pool that ``asyncio.run``
and the interpreter join at exit; an env.py whose imports leave threads unable to end (cinder's
eventlet) then hangs the process after the work is done. Running the env.py in a daemon thread of
our own, claimed as AnyIO's worker with ``anyio._core._eventloop.claim_worker_thread`` (what
AnyIO's pool threads do), gives both. Fallback: AnyIO's public ``to_thread.run_sync`` (correct,
but such an env.py can hang at exit). Not a speed trick: ``tests/test_sync_env_parity.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable
from typing import Any

from . import trick


@trick("anyio.worker_claim", "AnyIO's worker-thread claim on a thread of our own")
def WORKER_CLAIM() -> bool:
    from anyio._core._eventloop import claim_worker_thread, get_async_backend

    return callable(get_async_backend) and list(inspect.signature(claim_worker_thread).parameters)[:2] == [
        "backend_class",
        "token",
    ]


def worker_claim() -> Callable[[], contextlib.AbstractContextManager[Any]] | None:
    """A context manager factory that makes the calling thread an AnyIO worker thread of the
    running loop; None when this AnyIO has no such claim (use its public worker threads)."""
    if not WORKER_CLAIM.usable:
        return None
    try:
        from anyio._core._eventloop import claim_worker_thread, get_async_backend

        backend = get_async_backend()
        loop = asyncio.get_running_loop()
    except Exception:  # noqa: BLE001  (another AnyIO, or no loop: the public path)
        return None
    return lambda: claim_worker_thread(backend, loop)
