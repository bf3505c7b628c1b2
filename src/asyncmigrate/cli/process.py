"""What only the ``asyncmigrate`` command may do to its process: pause the garbage collector.

A library call leaves its host as it found it. The command line is not a guest: its process
exists for one command, so :func:`~asyncmigrate.cli.main.main` (run as the console script) calls
:func:`own` and :func:`collector_paused` then pauses the collector while the models are imported
and compared. Awaited from an application (``Migrator.check()`` in a FastAPI app, a test), the
same code leaves the host's collector alone: its state, thresholds and frozen objects.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator

_owned = False
#: Set by commands that import a project's revision files (and so its app code).
app_code_ran = False


def own() -> None:
    """Declare this process the command's own (the console script does, nothing else)."""
    global _owned
    _owned = True


def owned() -> bool:
    return _owned


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """In the command's own process: no garbage collection in the block. Anywhere else: nothing.

    Thousands of model classes and reflected tables are long-lived objects, and each full
    collection rescans all of them (a third of the import time for 2000 tables, ~15% of the
    comparison). Little of it is garbage (peak RSS is unchanged); what there is goes once the
    collector is back on.

    Turning the collector back on would make the next allocation scan everything allocated
    meanwhile as the youngest generation (0.3 s at 2000 tables, once per pause). Instead, what
    is alive is promoted straight to the oldest generation (``gc.freeze`` then ``gc.unfreeze``,
    no scan), which the next full collection visits as usual. A process that froze objects
    itself keeps them frozen: then the collector is just turned back on."""
    if not _owned or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def plain_mako_errors() -> None:
    """Keep mako (which Alembic imports) from importing pygments.

    On import, mako loads pygments' lexers to colour the HTML error pages it can render: 2 MiB
    and ~20 ms in every process where pygments is installed, which includes every asyncmigrate
    install (rich depends on it). Alembic renders mako errors as plain text only, so the missing
    plugin changes nothing but that: mako installs its uncoloured fallback."""
    sys.modules.setdefault("mako.ext.pygmentplugin", None)  # type: ignore[arg-type]


def freeze_heap() -> None:
    """Move every object alive now to the collector's permanent generation (``gc.freeze``);
    nothing is allocated for it. Two uses, both in the command's own process:

    * once Alembic and SQLAlchemy are imported for upgrade/downgrade: their modules live until
      the process exits, so the full collections of a long upgrade scan only what the command
      itself made (check does not: reflection.collector_paused manages the collector there);
    * just before the process exits: the interpreter then leaves the objects to the OS instead of
      a full collection and freeing every module's objects one by one (about 2 s after ``check``
      loaded 2000 models). The standard streams and logging handlers are still flushed."""
    import gc

    gc.freeze()
