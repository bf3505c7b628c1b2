"""``# asyncmigrate: ignore[rule-id, ...] reason`` comments.

On the line of an ``op.`` call (or anywhere in the statement that spans it) the comment silences
those rules for that call; before the first ``def`` it silences them for the whole file.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field

_IGNORE = re.compile(r"#\s*asyncmigrate:\s*ignore\[([^\]]*)\]\s*(.*)$")


@dataclass
class Suppressions:
    file_wide: set[str] = field(default_factory=set)
    by_line: dict[int, set[str]] = field(default_factory=dict)

    def silences(self, rule: str, line: int | None) -> bool:
        if rule in self.file_wide or "*" in self.file_wide:
            return True
        if line is None:
            return False
        rules = self.by_line.get(line, set())
        return rule in rules or "*" in rules


def parse_suppressions(source: str) -> Suppressions:
    """Read the ignore comments of a revision file, spreading each over its whole statement."""
    found = Suppressions()
    comments: dict[int, set[str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                match = _IGNORE.search(token.string)
                if match:
                    rules = {r.strip() for r in match.group(1).split(",") if r.strip()}
                    comments[token.start[0]] = rules
    except (tokenize.TokenError, SyntaxError):
        return found
    if not comments:
        return found
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    first_def = min(
        (node.lineno for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)),
        default=10**9,
    )
    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and not isinstance(node, ast.FunctionDef | ast.With | ast.If | ast.For)
    ]
    for line, rules in comments.items():
        if line < first_def:
            found.file_wide |= rules
            continue
        start, end = min(
            ((s, e) for s, e in spans if s <= line <= e),
            key=lambda span: span[1] - span[0],
            default=(line, line),
        )
        for covered in range(start, end + 1):
            found.by_line.setdefault(covered, set()).update(rules)
    return found
