"""The revision graph with Alembic's semantics, without Alembic.

A port of the parts of ``alembic.script.revision.RevisionMap`` that the read-only commands use:
heads (in Alembic's order), branch points, merge points, inherited branch labels, and
``walk_revisions(base, head)`` in the order of ``RevisionMap._topological_sort``, so ``history``
prints exactly what it prints through Alembic. Importing Alembic costs more than the whole
command should; this module needs the standard library only.

Whatever Alembic would warn about or refuse (a duplicate revision, a missing parent, a cycle, an
unknown or ambiguous identifier, relative and ``branch@`` identifiers) raises
:class:`GraphUnavailable`: the caller then asks Alembic, which prints its own message.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .status import to_tuple

_RELATIVE = re.compile(r"(?:(.+?)@)?(\w+)?((?:\+|-)\d+)")
_ILLEGAL_CHARS = frozenset("@-+:")


class GraphUnavailable(Exception):
    """The fast path cannot answer exactly as Alembic would: use Alembic instead."""


class MissingRevision(GraphUnavailable):
    """A revision names a parent that no file defines (its file was deleted)."""

    def __init__(self, missing: str, child: str, path: str) -> None:
        super().__init__(f"revision {missing} referenced from {child} is not present")
        self.missing = missing
        self.child = child
        self.path = path


def _scalar(revisions: tuple[str, ...] | None) -> str | tuple[str, ...] | None:
    """``alembic.script.revision.tuple_rev_as_scalar``."""
    if not revisions:
        return None
    return revisions[0] if len(revisions) == 1 else revisions


def _dedupe(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class Node:
    """One revision, with the attributes of Alembic's ``Script`` that callers read."""

    __slots__ = (
        "revision",
        "down_revision",
        "dependencies",
        "branch_labels",
        "_orig_branch_labels",
        "nextrev",
        "_all_nextrev",
        "_resolved_dependencies",
        "_normalized_resolved_dependencies",
        "path",
        "module_doc",
        "checksum",
        "_db_current_indicator",
    )

    def __init__(
        self,
        revision: str,
        down_revision: str | tuple[str, ...] | None,
        dependencies: str | tuple[str, ...] | None,
        branch_labels: str | tuple[str, ...] | None,
        *,
        path: str,
        doc: str | None,
        checksum: str | None = None,
    ) -> None:
        dependencies = to_tuple(dependencies, default=())
        if down_revision and revision in to_tuple(down_revision):
            raise GraphUnavailable(f"self-loop in {revision}")
        if revision in dependencies:
            raise GraphUnavailable(f"dependency self-loop in {revision}")
        if _ILLEGAL_CHARS.intersection(revision):
            raise GraphUnavailable(f"illegal characters in revision identifier {revision!r}")
        self.revision = revision
        self.down_revision = _scalar(to_tuple(down_revision))
        self.dependencies = _scalar(to_tuple(dependencies))
        self._orig_branch_labels: tuple[str, ...] = to_tuple(branch_labels, default=())
        self.branch_labels: set[str] = set(self._orig_branch_labels)
        self.nextrev: frozenset[str] = frozenset()
        self._all_nextrev: frozenset[str] = frozenset()
        self._resolved_dependencies: tuple[str, ...] = ()
        self._normalized_resolved_dependencies: tuple[str, ...] = ()
        self.path = path
        self.module_doc = doc
        #: sha256 of the file (line endings normalised), as the history table records it.
        self.checksum = checksum
        #: ``Script._db_current_indicator``: set by ``history -i`` on the revisions applied.
        self._db_current_indicator: bool | None = None

    def __repr__(self) -> str:
        return f"Node({self.revision!r}, {self.down_revision!r})"

    @property
    def doc(self) -> str:
        """The docstring's first paragraph, as ``Script.doc``."""
        return re.split("\n\n", self.longdoc)[0]

    @property
    def longdoc(self) -> str:
        return self.module_doc.strip() if self.module_doc else ""

    def add_nextrev(self, revision: Node) -> None:
        self._all_nextrev = self._all_nextrev.union([revision.revision])
        if self.revision in revision._versioned_down_revisions:
            self.nextrev = self.nextrev.union([revision.revision])

    @property
    def _all_down_revisions(self) -> tuple[str, ...]:
        return _dedupe(to_tuple(self.down_revision, default=()) + self._resolved_dependencies)

    @property
    def _normalized_down_revisions(self) -> tuple[str, ...]:
        return _dedupe(to_tuple(self.down_revision, default=()) + self._normalized_resolved_dependencies)

    @property
    def _versioned_down_revisions(self) -> tuple[str, ...]:
        return to_tuple(self.down_revision, default=())

    @property
    def is_head(self) -> bool:
        return not self.nextrev

    @property
    def _is_real_head(self) -> bool:
        return not self._all_nextrev

    @property
    def is_base(self) -> bool:
        return self.down_revision is None

    @property
    def _is_real_base(self) -> bool:
        return self.down_revision is None and self.dependencies is None

    @property
    def is_branch_point(self) -> bool:
        return len(self.nextrev) > 1

    @property
    def _is_real_branch_point(self) -> bool:
        return len(self._all_nextrev) > 1

    @property
    def is_merge_point(self) -> bool:
        return len(self._versioned_down_revisions) > 1

    # -- what Alembic's Script prints (``Script.cmd_format``/``log_entry``, line for line) ------

    def _format_down_revision(self) -> str:
        if not self.down_revision:
            return "<base>"
        return ", ".join(self._versioned_down_revisions)

    @property
    def log_entry(self) -> str:
        entry = (
            f"Rev: {self.revision}{' (head)' if self.is_head else ''}"
            f"{' (branchpoint)' if self.is_branch_point else ''}"
            f"{' (mergepoint)' if self.is_merge_point else ''}"
            f"{' (current)' if self._db_current_indicator else ''}\n"
        )
        if self.is_merge_point:
            entry += f"Merges: {self._format_down_revision()}\n"
        else:
            entry += f"Parent: {self._format_down_revision()}\n"
        if self.dependencies:
            entry += f"Also depends on: {_comma(self.dependencies)}\n"
        if self.is_branch_point:
            entry += f"Branches into: {_comma(self.nextrev)}\n"
        if self.branch_labels:
            entry += f"Branch names: {_comma(self.branch_labels)}\n"
        entry += f"Path: {self.path}\n"
        body = "\n".join(f"    {para}" for para in self.longdoc.splitlines())
        return entry + f"\n{body}\n"

    def _head_only(
        self,
        include_branches: bool = False,
        include_doc: bool = False,
        include_parents: bool = False,
        tree_indicators: bool = True,
        head_indicators: bool = True,
    ) -> str:
        text = self.revision
        if include_parents:
            if self.dependencies:
                text = f"{self._format_down_revision()} ({_comma(self.dependencies)}) -> {text}"
            else:
                text = f"{self._format_down_revision()} -> {text}"
        if include_branches and self.branch_labels:
            text += f" ({_comma(self.branch_labels)})"
        if head_indicators or tree_indicators:
            text += " (head)" if self._is_real_head else ""
            text += " (effective head)" if self.is_head and not self._is_real_head else ""
            text += " (current)" if self._db_current_indicator else ""
        if tree_indicators:
            text += " (branchpoint)" if self.is_branch_point else ""
            text += " (mergepoint)" if self.is_merge_point else ""
        if include_doc:
            text += f", {self.doc}"
        return text

    def cmd_format(
        self,
        verbose: bool,
        include_branches: bool = False,
        include_doc: bool = False,
        include_parents: bool = False,
        tree_indicators: bool = True,
    ) -> str:
        if verbose:
            return self.log_entry
        return self._head_only(include_branches, include_doc, include_parents, tree_indicators)


def _comma(value: str | Iterable[str]) -> str:
    """``alembic.util.format_as_comma``: sets print in their iteration order, as Alembic's do."""
    return value if isinstance(value, str) else ", ".join(value)


class RevisionGraph:
    """The answers of ``ScriptDirectory``/``RevisionMap`` for a list of nodes in load order."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        by_id: dict[str, Node] = {}
        heads: dict[Node, None] = {}  # ordered sets, as Alembic's OrderedSet
        real_heads: dict[Node, None] = {}
        bases: list[Node] = []
        real_bases: list[Node] = []
        labelled: list[Node] = []
        for node in nodes:
            if node.revision in by_id:
                raise GraphUnavailable(f"revision {node.revision} is present more than once")
            by_id[node.revision] = node
            if node.branch_labels:
                labelled.append(node)
            heads[node] = None
            real_heads[node] = None
            if node.is_base:
                bases.append(node)
            if node._is_real_base:
                real_bases.append(node)
        names: dict[str, Node] = dict(by_id)
        for node in labelled:
            for label in node._orig_branch_labels:
                if label in names:
                    raise GraphUnavailable(f"branch name {label!r} is used twice")
                names[label] = node
        for node in by_id.values():
            resolved = []
            for dependency in to_tuple(node.dependencies, default=()) if node.dependencies else ():
                if dependency not in names:
                    raise GraphUnavailable(f"{node.revision} depends on unknown {dependency!r}")
                resolved.append(names[dependency].revision)
            node._resolved_dependencies = tuple(resolved)
        for node in by_id.values():
            for down in node._all_down_revisions:
                if down not in by_id:  # missing, or a branch label used as a parent
                    if down in names:
                        raise GraphUnavailable(
                            f"revision {down} referenced from {node.revision} is not present"
                        )
                    raise MissingRevision(down, node.revision, node.path)
                parent = by_id[down]
                parent.add_nextrev(node)
                if down in node._versioned_down_revisions:
                    heads.pop(parent, None)
                real_heads.pop(parent, None)
        # Alembic walks its map's values, where a labelled revision comes again under each
        # label. Adding it again changes no set's content, but each frozenset union rebuilds
        # the set, which can change its iteration order: the order branches and show print.
        for node in labelled:
            for _ in node._orig_branch_labels:
                for down in node._all_down_revisions:
                    by_id[down].add_nextrev(node)
        self._by_id = by_id
        self._names = names
        self._position = {revision: index for index, revision in enumerate(by_id)}
        self._normalize_depends_on()
        self._detect_cycles()
        self.heads: tuple[str, ...] = tuple(node.revision for node in heads)
        self._real_heads: tuple[str, ...] = tuple(node.revision for node in real_heads)
        self.bases: tuple[str, ...] = tuple(node.revision for node in bases)
        self._real_bases: tuple[str, ...] = tuple(node.revision for node in real_bases)
        self._add_branches(labelled)
        self._walks: dict[tuple[str | tuple[str, ...], str | tuple[str, ...]], list[Node]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    # -- building ------------------------------------------------------------------------------

    def _normalize_depends_on(self) -> None:
        """Dependencies that an ancestor already has are dropped (``_normalize_depends_on``).
        The set is built and thinned exactly as Alembic does, so it iterates in the same order."""
        for node in self._by_id.values():
            if not node._resolved_dependencies:
                node._normalized_resolved_dependencies = ()
                continue
            normalized = set(node._resolved_dependencies)
            for ancestor in self._related(lambda n: n._versioned_down_revisions, [node]):
                if ancestor is not node and ancestor._resolved_dependencies:
                    normalized.difference_update(ancestor._resolved_dependencies)
            node._normalized_resolved_dependencies = tuple(normalized)

    def _detect_cycles(self) -> None:
        """Alembic refuses a graph with a cycle; so does this (Kahn's algorithm on all edges)."""
        waiting = {node.revision: len(node._all_down_revisions) for node in self._by_id.values()}
        ready = [revision for revision, count in waiting.items() if count == 0]
        done = 0
        while ready:
            revision = ready.pop()
            done += 1
            for child in self._by_id[revision]._all_nextrev:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        if done != len(self._by_id):
            raise GraphUnavailable("cycle in the revision graph")

    def _add_branches(self, labelled: list[Node]) -> None:
        """Branch labels spread to the branch's descendants and down to its branch point
        (``RevisionMap._add_branches``)."""
        for revision in labelled:
            node = revision
            for node in self._related(lambda n: n.nextrev, [revision]):
                node.branch_labels.update(revision.branch_labels)
            parent: Node | None = node
            while parent and not parent._is_real_branch_point and not parent.is_merge_point:
                parent.branch_labels.update(revision.branch_labels)
                parent = self._by_id[parent.down_revision] if parent.down_revision else None  # type: ignore[index]

    # -- traversal ------------------------------------------------------------------------------

    def _related(
        self, step: Callable[[Node], Iterable[str]], targets: Iterable[Node], check: bool = False
    ) -> Iterator[Node]:
        """``RevisionMap._iterate_related_revisions``, including its overlap check."""
        targets = list(targets)
        seen: set[Node] = set()
        todo: deque[Node] = deque()
        for target in targets:
            todo.append(target)
            per_target: set[Node] = set()
            while todo:
                node = todo.pop()
                if check:
                    per_target.add(node)
                if node in seen:
                    continue
                seen.add(node)
                for revision in step(node):
                    todo.append(self._by_id[revision])
                yield node
            if check and per_target.intersection(targets).difference([target]):
                raise GraphUnavailable(f"requested revision {target.revision} overlaps with others")

    def _ancestors(self, targets: Iterable[Node], check: bool = False) -> Iterator[Node]:
        return self._related(lambda n: n._normalized_down_revisions, targets, check)

    def _descendants(self, targets: Iterable[Node], check: bool = False) -> Iterator[Node]:
        return self._related(lambda n: n.nextrev, targets, check)

    # -- identifiers ----------------------------------------------------------------------------

    def _resolve(self, identifier: str) -> tuple[str, ...]:
        if "@" in identifier:
            raise GraphUnavailable("branch@ identifiers")
        if identifier == "heads":
            return self._real_heads
        if identifier == "head":
            if len(self.heads) > 1:
                raise GraphUnavailable("multiple heads for 'head'")
            return self.heads
        if identifier == "base":
            return ()
        return (identifier,)

    def _lookup(self, identifier: str) -> Node:
        """A revision id, a branch label, or a unique prefix of either (four characters or more)."""
        node = self._names.get(identifier)
        if node is not None:
            return node
        matches = [name for name in self._names if len(name) > 3 and name.startswith(identifier)]
        if len(matches) != 1:
            raise GraphUnavailable(f"no single revision matches {identifier!r}")
        return self._names[matches[0]]

    def get_revisions(self, identifier: str | Iterable[str]) -> tuple[Node, ...]:
        if not isinstance(identifier, str):
            return tuple(node for item in identifier for node in self.get_revisions(item))
        resolved = self._resolve(identifier)
        if len(resolved) == 1:
            try:
                if int(resolved[0]) < 0:
                    raise GraphUnavailable("relative identifier")
            except ValueError:
                pass
        return tuple(self._lookup(revision) for revision in resolved)

    def get_revision(self, identifier: str) -> Node | None:
        resolved = self._resolve(identifier)
        if len(resolved) > 1:
            raise GraphUnavailable(f"{identifier!r} names several revisions")
        return self._lookup(resolved[0]) if resolved else None

    def get_heads(self) -> list[str]:
        return list(self.heads)

    def get_all_current(self, revisions: tuple[str, ...]) -> set[Node]:
        """``ScriptDirectory.get_all_current``: the revisions and all they need, thinned to the
        branch heads among them (what ``alembic current`` prints), in no particular order."""
        top = set(self.get_revisions(revisions))
        top.update(self._ancestors(list(top)))
        for node in list(top):
            if top.intersection(self._descendants([node])).difference([node]):
                top.discard(node)
        return top

    # -- walking --------------------------------------------------------------------------------

    def walk_revisions(
        self, base: str | tuple[str, ...] = "base", head: str | tuple[str, ...] = "heads"
    ) -> Iterator[Node]:
        """``ScriptDirectory.walk_revisions``: newest first, in Alembic's order."""
        key = (base, head)
        if key not in self._walks:
            self._walks[key] = self._walk(base, head)
        return iter(self._walks[key])

    def _walk(self, lower: str | tuple[str, ...], upper: str | tuple[str, ...]) -> list[Node]:
        """``iterate_revisions(upper, lower, inclusive=True)`` through
        ``_collect_upgrade_revisions`` and ``_topological_sort``."""
        for identifier in (upper, lower):
            if isinstance(identifier, tuple) and all(isinstance(item, str) for item in identifier):
                continue  # the database's revisions (history -i, -r current:)
            if not isinstance(identifier, str) or _RELATIVE.match(identifier) or "@" in identifier:
                raise GraphUnavailable("relative or branch@ range")
        targets = self.get_revisions(upper)
        required = set(self._ancestors(targets, check=True)).union(targets)
        current = self.get_revisions(lower)
        if any(node not in required for node in current):
            raise GraphUnavailable(f"{lower} is not an ancestor of {upper}")
        current_set = set(self._ancestors(current, check=True)).union(current)
        needs = required.difference(current_set)
        needs.update(current)  # inclusive
        if current:
            needs.intersection_update(self._descendants(current, check=True))
        return [self._by_id[revision] for revision in self._topological_sort(needs, targets)]

    def _topological_sort(self, revisions: set[Node], heads: tuple[Node, ...]) -> list[str]:
        """``RevisionMap._topological_sort``, step for step: the order ``history`` prints."""

        def ancestors_of(revision: str) -> set[str]:
            return {node.revision for node in self._ancestors([self._by_id[revision]])}

        todo = {node.revision for node in revisions}
        current_heads = sorted(
            {node.revision for node in heads if node.revision in todo}, key=self._position.__getitem__
        )
        ancestors_by_idx = [ancestors_of(revision) for revision in current_heads]
        output: list[str] = []
        index = 0
        while current_heads:
            candidate = current_heads[index]
            for other, ancestors in enumerate(ancestors_by_idx):
                if other != index and candidate in ancestors:
                    index = other  # another head depends on this one: walk that first
                    break
            else:
                if candidate in todo:
                    output.append(candidate)
                    todo.remove(candidate)
                node = self._by_id[candidate]
                to_add = [r for r in node._normalized_down_revisions if r in todo and r not in current_heads]
                if not to_add:
                    del current_heads[index]
                    del ancestors_by_idx[index]
                    index = max(index - 1, 0)
                elif not node._normalized_resolved_dependencies and len(node._versioned_down_revisions) == 1:
                    current_heads[index] = to_add[0]
                    ancestors_by_idx[index].discard(candidate)
                else:
                    current_heads[index] = to_add[0]
                    current_heads.extend(to_add[1:])
                    ancestors_by_idx[index] = ancestors_of(to_add[0])
                    ancestors_by_idx.extend(ancestors_of(revision) for revision in to_add[1:])
        if todo:
            raise GraphUnavailable("topological sort left revisions behind")
        return output


def node_for(path: Path, parsed: Any, checksum: str | None) -> Node:
    """A :class:`Node` from a :class:`~asyncmigrate.graph.files.RevisionFile`."""
    return Node(
        parsed.revision,
        parsed.down_revision,
        parsed.depends_on,
        parsed.branch_labels,
        path=str(path),
        doc=parsed.doc,
        checksum=checksum,
    )
