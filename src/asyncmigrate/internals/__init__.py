"""The fence: every private name of another library that asyncmigrate uses lives here.

One module per library (``alembic``, ``sqlalchemy``, ``asyncpg``, ``anyio``). Outside this
package the code only calls the functions below, and ``tests/test_private_names.py`` fails when a
private name of another library shows up anywhere else.

Each use is a :class:`Trick`: a check, run once and lazily, that the name still has the shape we
rely on (it exists, is callable, takes the arguments we pass), and a fallback to the public path
with the same result when it does not. A library upgrade that moves a name then costs speed, never
a wrong answer. Tests force a check to fail (:meth:`Trick.forced`) to compare both paths; a
benchmark does the same for a whole process with ``ASYNCMIGRATE_PUBLIC_PATHS=all`` (or a comma
separated list of trick names, e.g. ``alembic.update_version,asyncpg.adapter``), to measure what
each trick buys.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator

log = logging.getLogger("asyncmigrate.internals")


class Trick:
    """One private name (or group of names used together) and the check that it still fits."""

    #: Every trick, by name: what the tests walk to force each fallback.
    registry: dict[str, Trick] = {}

    def __init__(self, name: str, check: Callable[[], bool], why: str) -> None:
        self.name = name
        self.why = why
        self._check = check
        self._usable: bool | None = None
        Trick.registry[name] = self

    @property
    def usable(self) -> bool:
        """Whether the private path may be used: the check's answer, computed on first use."""
        if self._usable is None:
            public = {n.strip() for n in os.environ.get("ASYNCMIGRATE_PUBLIC_PATHS", "").split(",")}
            if "all" in public or self.name in public:
                self._usable = False
                return False
            try:
                self._usable = bool(self._check())
            except Exception as exc:  # noqa: BLE001  (any surprise means: take the public path)
                log.debug("%s: check failed (%s: %s), public path used", self.name, type(exc).__name__, exc)
                self._usable = False
        return self._usable

    @contextlib.contextmanager
    def forced(self, usable: bool) -> Iterator[None]:
        """Answer ``usable`` in this block, whatever the check says (tests of the fallback)."""
        saved = self._usable
        self._usable = usable
        try:
            yield
        finally:
            self._usable = saved


def trick(name: str, why: str) -> Callable[[Callable[[], bool]], Trick]:
    """Decorator: register a check function as the :class:`Trick` ``name``."""

    def register(check: Callable[[], bool]) -> Trick:
        return Trick(name, check, why)

    return register
