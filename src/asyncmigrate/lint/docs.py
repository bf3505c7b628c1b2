"""The lint rules' documentation, read from their docstrings: ``--explain``, ``--list-rules`` and
docs/lint-rules.md all come from here, so the page cannot say something the code does not.

``python -m asyncmigrate.lint.docs docs/lint-rules.md`` writes the page (``--check``: exit 1
when the file on disk differs from what the code says).
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

from .rules import GROUPS, Rule, all_rules, rule_by_id

#: The command that writes docs/lint-rules.md, named in the page's header.
PAGE_COMMAND = "python -m asyncmigrate.lint.docs docs/lint-rules.md"

_DIALECT_NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB", "sqlite": "SQLite"}


class UnknownRule(LookupError):
    """``--explain`` of an id no rule has; the message names the nearest ids."""


def find_rule(rule_id: str) -> Rule:
    """The rule with this id, or :class:`UnknownRule` naming the closest ids."""
    rules = rule_by_id()
    if rule_id in rules:
        return rules[rule_id]
    near = difflib.get_close_matches(rule_id, list(rules), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else "; `asyncmigrate lint --list-rules` lists them"
    raise UnknownRule(f"unknown lint rule {rule_id!r}{hint}")


def dialects_text(rule: Rule) -> str:
    return ", ".join(name for key, name in _DIALECT_NAMES.items() if key in rule.dialects)


def level_text(rule: Rule) -> str:
    return rule.severity.value + ("" if rule.enabled_by_default else " (opt-in)")


def explain(rule: Rule) -> str:
    """The rule's documentation as Markdown: a heading, its level and dialects, its docstring."""
    body = rule.doc.partition("\n")[2]
    return (
        f"# {rule.id}\n\n"
        f"{_title_summary(rule)}\n\n"
        f"Level: **{level_text(rule)}**. Dialects: {dialects_text(rule)}. Group: {rule.group}.\n\n"
        f"{body.strip()}\n"
    )


def _title_summary(rule: Rule) -> str:
    """The docstring's first line without its ``id:`` prefix."""
    first = rule.doc.partition("\n")[0]
    prefix = f"{rule.id}:"
    text = first[len(prefix) :].strip() if first.startswith(prefix) else first.strip()
    return text[:1].upper() + text[1:]


def rules_json() -> str:
    """``--list-rules --format json``: one object per rule, in catalogue order."""
    return json.dumps(
        [
            {
                "id": rule.id,
                "severity": rule.severity.value,
                "enabled_by_default": rule.enabled_by_default,
                "dialects": sorted(rule.dialects),
                "group": rule.group,
                "summary": rule.summary,
            }
            for rule in all_rules()
        ],
        indent=2,
    )


def rules_table() -> list[str]:
    """``--list-rules`` as plain aligned lines: id, level, dialects, summary."""
    return [
        f"{rule.id:34} {level_text(rule):18} {','.join(sorted(rule.dialects)):34} {rule.summary}"
        for rule in all_rules()
    ]


def _anchor(rule_id: str) -> str:
    return rule_id.lower()


def page() -> str:
    """docs/lint-rules.md: an index table, then every rule's documentation, grouped."""
    rules = all_rules()
    out = [
        "# Lint rules",
        "",
        f"<!-- Generated from the rules' docstrings by `{PAGE_COMMAND}`; do not edit by hand."
        " tests/test_lint_docs.py fails when this page is out of date. -->",
        "",
        f"`asyncmigrate lint` has {len(rules)} rules. `asyncmigrate lint --explain RULE` prints one of"
        " these sections; `asyncmigrate lint --list-rules` lists them. Levels: **error** blocks a deploy"
        " (exit 1), **warning** and **advisory** only inform; *opt-in* rules run only when"
        " `[tool.asyncmigrate.lint]` enables them.",
        "",
        "| rule | level | dialects | summary |",
        "|---|---|---|---|",
    ]
    for rule in rules:
        link = f"[`{rule.id}`](#{_anchor(rule.id)})"
        out.append(f"| {link} | {level_text(rule)} | {dialects_text(rule)} | {rule.summary} |")
    for group in GROUPS:
        members = [rule for rule in rules if rule.group == group]
        if not members:
            continue
        out += ["", f"## {group}"]
        for rule in members:
            # one heading level down: the rule is ### and its sections ####
            text = explain(rule).replace("\n## ", "\n#### ").replace("# ", "### ", 1)
            out += ["", text.rstrip()]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the page to the path given (``--check``: only compare), or print it."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [arg for arg in args if arg != "--check"]
    text = page()
    if not paths:
        sys.stdout.write(text)
        return 0
    target = Path(paths[0])
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date; run: {PAGE_COMMAND}", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
