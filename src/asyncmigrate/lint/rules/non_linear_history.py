"""non-linear-history: several heads, so ``upgrade head`` is ambiguous and branches may clash.

Judged on the revision graph, not on one revision: ``project.py`` reports it once per head.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..context import RevisionContext
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(_: RevisionContext) -> Iterable[Hit]:
    return ()


RULE = Rule(
    "non-linear-history",
    Severity.WARNING,
    "the history has several heads",
    ALL_DIALECTS,
    check,
    group="History",
)
