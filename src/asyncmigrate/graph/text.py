"""What ``alembic history|heads|branches|show|current`` print, byte for byte.

Each function returns the texts Alembic's command passes to ``Config.print_stdout`` (one newline
is added to each when written). They work on Alembic's ``ScriptDirectory`` and on the cached
:class:`~asyncmigrate.graph.revisions.RevisionGraph` alike, through the public ``Script.cmd_format`` and
``Script.log_entry`` (which :class:`~asyncmigrate.graph.revisions.Node` ports line for line). Sets
(branch labels, a branch point's next revisions) print in their iteration order, as Alembic
prints them: that order depends on the interpreter's string hashing, so it is reproducible from
run to run only under a fixed ``PYTHONHASHSEED``. Standard library only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from ..internals.alembic import IndicatorUnavailable, indicate_current

__all__ = ["IndicatorUnavailable", "branches", "current", "heads", "history", "show", "write"]


def history(
    source: Any,
    base: str | tuple[str, ...] = "base",
    head: str | tuple[str, ...] = "heads",
    *,
    verbose: bool = False,
    current: Iterable[str] = (),
) -> list[str]:
    """``alembic history [-r base:head] [-v] [-i]``; the ``current`` revisions are marked
    " (current)" (``--indicate-current``)."""
    currents = set(current)
    texts = []
    for script in source.walk_revisions(base or "base", head or "heads"):
        if currents:
            indicate_current(script, script.revision in currents)
        texts.append(
            script.cmd_format(verbose, include_branches=True, include_doc=True, include_parents=True)
        )
    return texts


def heads(source: Any, *, verbose: bool = False, resolve_dependencies: bool = False) -> list[str]:
    """``alembic heads [-v] [--resolve-dependencies]``."""
    found = source.get_revisions("heads" if resolve_dependencies else source.get_heads())
    return [script.cmd_format(verbose, include_branches=True, tree_indicators=False) for script in found]


def branches(source: Any, *, verbose: bool = False) -> list[str]:
    """``alembic branches [-v]``."""
    texts = []
    for script in source.walk_revisions():
        if not script.is_branch_point:
            continue
        indent = " " * len(str(script.revision))
        children = "\n".join(
            f"{indent} -> {child.cmd_format(False, include_branches=True, include_doc=verbose)}"
            for child in (source.get_revision(rev) for rev in script.nextrev)
        )
        texts.append(f"{script.cmd_format(verbose, include_branches=True)}\n{children}\n")
    return texts


def show(source: Any, revision: str | tuple[str, ...]) -> list[str]:
    """``alembic show REV`` (not ``current``, which needs the database)."""
    return [script.log_entry for script in source.get_revisions(revision)]


def current(source: Any, revisions: tuple[str, ...], *, verbose: bool = False, url: str = "") -> list[str]:
    """``alembic current [-v]`` for a database at ``revisions``; ``url`` is shown by ``-v``
    (already rendered with its password hidden). Alembic prints several revisions in the order
    of a set of objects, which changes from run to run; here they are sorted by id."""
    texts = [f"Current revision(s) for {url}:"] if verbose else []
    found = sorted(source.get_all_current(revisions), key=lambda script: script.revision)
    return texts + [script.cmd_format(verbose) for script in found]


def write(texts: Iterable[str], stream: TextIO | None = None) -> None:
    """``Config.print_stdout`` for each text: encoded with the stream's encoding, characters it
    cannot hold replaced, a broken pipe ignored (``alembic.util.write_outstream``)."""
    stream = stream or sys.stdout
    encoding = getattr(stream, "encoding", "ascii") or "ascii"
    for text in texts:
        for part in (text, "\n"):
            try:
                stream.write(part.encode(encoding, "replace").decode(encoding))
            except OSError:
                return
