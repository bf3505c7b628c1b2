"""Progress while a command runs: Alembic's log lines on stderr, and the live line a terminal
shows while a long revision runs."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api.migrator import Migrator
    from ..apply.environment import StepEvent


#: Alembic's set-up chatter. "setup plugin" is logged when Alembic is first imported, which now
#: happens after logging is configured (the API is imported lazily).
_NOISE = ("Context impl", "Will assume", "setting up autogenerate plugin", "setup plugin")


class _ProgressHandler(logging.StreamHandler):
    """Alembic's progress lines on stderr, indented, each flushed as it comes, without its
    set-up chatter. What ``StreamHandler`` with a ``"  %(message)s"`` format and a filter would
    print, with the message formatted once per line instead of twice (one line per revision)."""

    _asyncmigrate = True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if message.startswith(_NOISE):
                return
            if record.exc_info or record.stack_info:
                message = self.format(record)
            else:
                message = f"  {message}"
            with LIVE_LINE.lock:  # the live line, if shown, goes first; never half of each
                LIVE_LINE.clear_unlocked()
                self.stream.write(message + self.terminator)
                self.flush()
        except Exception:
            self.handleError(record)


def setup_logging(quiet: bool) -> None:
    """Show Alembic's progress lines ("Running upgrade a -> b", "Detected added column") on
    stderr, without its set-up chatter."""
    for name, level in (("alembic", logging.INFO), ("asyncmigrate", logging.INFO)):
        logger = logging.getLogger(name)
        if any(getattr(h, "_asyncmigrate", False) for h in logger.handlers):
            continue
        handler = _ProgressHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("  %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING if quiet else level)


class _LiveLine:
    """The one status line a terminal shows while a revision runs ("b2 running for 12s"): the
    progress handler clears it before a log line, so the two never mix."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.shown = False

    def show(self, text: str) -> None:
        with self.lock:
            sys.stderr.write(f"\r  {text}\x1b[K")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        with self.lock:
            self.clear_unlocked()

    def clear_unlocked(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


LIVE_LINE = _LiveLine()


#: Seconds a revision runs before the live line appears, and between its updates.
LIVE_AFTER, LIVE_EVERY = 2.0, 1.0


@contextlib.contextmanager
def live_progress(migrator: Migrator, quiet: bool) -> Iterator[None]:
    """On a terminal, show which revision is running and for how long once it takes more than
    a moment: a long revision otherwise shows nothing until it ends. The migrator tells which
    revision starts and when it is applied (its ``on_step`` events); a thread of its own ticks
    the clock, so the line moves while a revision keeps the event loop busy."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    import threading
    import time

    done = threading.Event()
    running: list[tuple[str, float]] = []  # the revision that started last, and when

    def on_step(event: StepEvent) -> None:
        running[:] = [(event.revision, time.monotonic())] if event.phase == "start" else []

    def tick() -> None:
        while not done.wait(LIVE_EVERY / 4):
            step = running[0] if running else None
            seconds = time.monotonic() - step[1] if step else 0.0
            if step is None or seconds < LIVE_AFTER:
                LIVE_LINE.clear()
                continue
            minutes, rest = divmod(int(seconds), 60)
            elapsed = f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
            LIVE_LINE.show(f"{step[0]} running for {elapsed}")
            done.wait(LIVE_EVERY * 3 / 4)

    theirs = migrator.on_step
    migrator.on_step = on_step
    ticker = threading.Thread(target=tick, name="asyncmigrate-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        migrator.on_step = theirs
        done.set()
        ticker.join()
        LIVE_LINE.clear()
