"""The revision graph as plain data: revision summaries and the applied/pending plan.

Everything here works on any :class:`RevisionSource`: Alembic's ``ScriptDirectory`` or the
cached :class:`~asyncmigrate.graph.revisions.RevisionGraph`, which needs neither Alembic nor SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


def to_tuple(value: Any, default: tuple[str, ...] | None = None) -> Any:
    """``alembic.util.to_tuple``: None -> default, a string -> (string,), an iterable -> tuple."""
    if value is None:
        return default
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    return (value,)


def parse_rev_range(rev_range: str | None) -> tuple[str, str]:
    """``history -r start:end`` as (base, head); an empty side means base or heads."""
    if not rev_range:
        return "base", "heads"
    if ":" not in rev_range:
        from ..errors import ConfigError

        raise ConfigError(f"history range must look like 'start:end', got {rev_range!r}")
    start, end = rev_range.split(":", 1)
    return start or "base", end or "heads"


class RevisionSource(Protocol):
    """What the functions below need from a revision graph (``ScriptDirectory`` has it)."""

    def walk_revisions(self, base: str = "base", head: str = "heads") -> Iterator[Any]: ...

    def get_heads(self) -> list[str]: ...

    def get_revision(self, id_: str) -> Any: ...


@dataclass(frozen=True)
class RevisionInfo:
    """One revision file, summarised."""

    revision: str
    down_revisions: tuple[str, ...]
    depends_on: tuple[str, ...]
    message: str
    path: Path
    branch_labels: tuple[str, ...]
    is_head: bool
    is_branch_point: bool
    is_merge_point: bool

    @classmethod
    def from_script(cls, script: Any) -> RevisionInfo:
        """From an Alembic ``Script`` or a cached :class:`~asyncmigrate.graph.revisions.Node`."""
        return cls(
            revision=script.revision,
            down_revisions=to_tuple(script.down_revision, default=()),
            depends_on=to_tuple(script.dependencies, default=()),
            message=(script.doc or "").strip(),
            path=Path(script.path),
            branch_labels=tuple(sorted(script.branch_labels)),
            is_head=script.is_head,
            is_branch_point=script.is_branch_point,
            is_merge_point=script.is_merge_point,
        )

    def label(self) -> str:
        flags = [
            name
            for name, on in (
                ("head", self.is_head),
                ("branchpoint", self.is_branch_point),
                ("mergepoint", self.is_merge_point),
            )
            if on
        ]
        suffix = f" ({', '.join(flags)})" if flags else ""
        return f"{self.revision}{suffix}"


@dataclass(frozen=True)
class Status:
    """Where the database is, and what ``upgrade head`` would run, in order."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    applied: list[RevisionInfo]
    pending: list[RevisionInfo]
    unknown: tuple[str, ...] = ()
    #: What ``verify`` finds (edited, missing, out-of-order revisions, unmerged heads).
    problems: list[Any] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.unknown


def _parents(script: Any) -> tuple[str, ...]:
    parents: tuple[str, ...] = to_tuple(script.down_revision, default=()) + to_tuple(
        script.dependencies, default=()
    )
    return parents


def applied_revisions(directory: RevisionSource, current: Iterable[str]) -> list[str]:
    """Every revision the version table implies is applied (the current revisions and all their
    ancestors, dependencies included), parents first."""
    by_id = {s.revision: s for s in directory.walk_revisions()}
    applied: set[str] = set()
    stack = [rev for rev in current if rev in by_id]
    while stack:
        rev = stack.pop()
        if rev in applied:
            continue
        applied.add(rev)
        for parent in _parents(by_id[rev]):
            resolved = directory.get_revision(parent)
            if resolved is not None:
                stack.append(resolved.revision)
    # walk_revisions goes from the heads down; reversed, parents come before children.
    return [rev for rev in reversed(list(by_id)) if rev in applied]


def build_status(
    directory: RevisionSource,
    current: tuple[str, ...],
    problems: list[Any] | None = None,
    applied_in_history: Iterable[str] = (),
) -> Status:
    """Split the graph into applied (ancestors of the current revisions) and pending. When a
    current revision's file is gone, the revisions the history table says are applied stand in
    for its ancestors (``applied_in_history``)."""
    ordered = list(reversed(list(directory.walk_revisions())))
    known = {s.revision for s in ordered}
    roots = list(current)
    if any(rev not in known for rev in current):
        roots += [rev for rev in applied_in_history if rev in known]
    applied_ids = set(applied_revisions(directory, roots))
    infos = [RevisionInfo.from_script(s) for s in ordered]
    return Status(
        current=current,
        heads=tuple(directory.get_heads()),
        applied=[info for info in infos if info.revision in applied_ids],
        pending=[info for info in infos if info.revision not in applied_ids],
        unknown=tuple(rev for rev in current if rev not in known),
        problems=list(problems or []),
    )
