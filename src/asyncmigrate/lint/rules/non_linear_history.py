"""non-linear-history: several heads, so ``upgrade head`` is ambiguous and branches may clash.

## What it flags

A revision history with more than one head (two branches created from the same parent and never
merged). Judged on the revision graph, not on one revision's code: reported once per head that
the lint run selected.

## Why

``upgrade head`` refuses to choose between heads, so a deploy stops; ``upgrade heads`` applies
both branches in an order nobody reviewed, and the two may change the same table in conflicting
ways. The same on every database.

## Example

Two developers each wrote a revision on top of ``a1b2c3``:

```text
a1b2c3 -> d4e5f6 (add users.bio)
a1b2c3 -> 0718ab (add users.avatar)
```

## Fix

Merge the heads into one, after checking the two branches do not conflict:

```text
asyncmigrate merge heads -m "merge d4e5f6 and 0718ab"
```
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
