"""Benchmark: asyncmigrate's linter vs squawk on the PostgreSQL cases of tests/lint_cases.

Each case is a migration with a reviewed verdict (the exact set of rule ids it must raise). Both
tools judge the same SQL: the SQL our renderer produced for the case's revision, which squawk
(a SQL linter) reads as a migration file with `--pg-version` set from the case. squawk's rule
names are mapped to the canonical ids of the rule catalogue (shared/reference/lint-rules.md,
appendix). Scores count (case, rule id) pairs, restricted to error-level ids: those are what
fails a deploy, and the only level the two tools agree on. Advisory and warning ids (timeouts,
drops, renames, style) are left out for both.

Run through bench/run, which installs squawk-cli beside asyncmigrate:
    bench/run lint [--markdown] [--rounds 3] [--render engine|alembic] [--show-misses]
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from asyncmigrate.lint.casefile import LintCase, expectable_rules, load_cases

ROOT = Path(__file__).resolve().parent.parent
CASE_DIR = ROOT / "tests" / "lint_cases"
PG_ERRORS = frozenset(rule for rule, level in expectable_rules("postgresql").items() if level == "error")

#: squawk rule name -> canonical ids, from the appendix of lint-rules.md. Where one squawk rule
#: covers several of our ids, the first is its main meaning; see `squawk_verdict`.
SQUAWK_TO_CANONICAL: dict[str, tuple[str, ...]] = {
    "adding-field-with-default": (
        "add-column-default-rewrite",
        "add-column-generated-stored",
        "add-column-auto-increment",
    ),
    "adding-foreign-key-constraint": ("add-foreign-key-validated",),
    "adding-not-nullable-field": ("set-not-null",),
    "adding-required-field": ("add-column-required",),
    "adding-serial-primary-key-field": ("add-primary-key",),
    "ban-alter-domain-with-add-constraint": ("add-column-domain-with-check",),
    "ban-create-domain-with-constraint": ("add-column-domain-with-check",),
    "ban-concurrent-index-creation-in-transaction": ("concurrently-in-transaction",),
    "ban-truncate-cascade": ("truncate-cascade",),
    "ban-uncommitted-transaction": ("nested-or-unclosed-transaction",),
    "transaction-nesting": ("nested-or-unclosed-transaction",),
    "changing-column-type": ("column-type-change",),
    # the appendix: it covers CHECK, FK and VALIDATE-in-transaction, and also fires for UNIQUE/PK/EXCLUDE
    "constraint-missing-not-valid": (
        "add-check-validated",
        "add-foreign-key-validated",
        "validate-in-same-transaction",
        "add-unique-constraint",
        "add-primary-key",
        "add-exclusion-constraint",
    ),
    "disallowed-unique-constraint": ("add-unique-constraint",),
    "prefer-repack": ("table-rewrite-maintenance",),  # squawk fires it only with --pg-version >= 19
    "require-concurrent-index-creation": ("index-not-concurrent",),
    "require-concurrent-reindex": ("reindex-not-concurrent",),
    "require-concurrent-partition-detach": ("detach-partition-not-concurrent",),
    # mapped to warning- or advisory-level ids: known, but outside the scored set
    "require-concurrent-index-deletion": ("drop-index-not-concurrent",),
    "ban-drop-column": ("drop-column",),
    "ban-drop-table": ("drop-table",),
    "ban-drop-database": ("drop-schema",),
    "ban-drop-schema": ("drop-schema",),
    "ban-drop-not-null": ("drop-not-null",),
    "ban-drop-constraint": ("drop-constraint",),
    "renaming-column": ("rename-column",),
    "renaming-table": ("rename-table",),
    "renaming-object": ("rename-object",),
    "prefer-robust-stmts": ("non-idempotent-ddl",),
    "require-lock-timeout": ("missing-lock-timeout",),
    "require-statement-timeout": ("missing-statement-timeout",),
    "require-timeout-settings": ("missing-lock-timeout", "missing-statement-timeout"),
    "require-enum-value-ordering": ("enum-value-ordering",),
    "identifier-too-long": ("identifier-too-long",),
    "syntax-error": ("syntax-error",),
    # names the 2.70 binary uses that the appendix spells differently or lacks
    "prefer-timestamp-tz": ("type-preferences",),
    "ban-drop-default": ("contract-change",),
    **dict.fromkeys(
        (
            "ban-char-field",
            "prefer-bigint-over-int",
            "prefer-bigint-over-smallint",
            "prefer-identity",
            "prefer-text-field",
            "prefer-timestamptz",
        ),
        ("type-preferences",),
    ),
    **dict.fromkeys(
        (
            "ban-drop-view",
            "ban-drop-function",
            "ban-drop-type",
            "ban-drop-sequence",
            "ban-drop-domain",
            "ban-drop-extension",
            "ban-drop-generated-expression",
            "ban-set-schema",
            "ban-alter-identity",
        ),
        ("drop-other-object",),
    ),
}


@dataclass
class Verdicts:
    """One tool's error-level ids per case name, plus what it took to get them."""

    tool: str
    by_case: dict[str, set[str]] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


# --- asyncmigrate ---------------------------------------------------------------------------------


def time_all_cases(cases: list[LintCase], rounds: int) -> list[float]:
    """Whole-set lint time per round, after one warm-up case (imports, parser start-up)."""
    cases[0].lint()
    totals = []
    for _ in range(rounds):
        started = time.perf_counter()
        for case in cases:
            case.lint()
        totals.append(time.perf_counter() - started)
    return totals


def ours(cases: list[LintCase]) -> tuple[Verdicts, dict[str, str]]:
    """Our error-level findings per case, and the SQL each case rendered to (squawk's input)."""
    verdicts = Verdicts("asyncmigrate")
    sql: dict[str, str] = {}
    started = time.perf_counter()
    for case in cases:
        report = case.lint()
        verdicts.by_case[case.name] = {f.rule for f in report.findings if f.severity.value == "error"}
        sql[case.name] = report.sql.get("case", "")
    verdicts.seconds = time.perf_counter() - started
    return verdicts, sql


# --- rendering without the engine -----------------------------------------------------------------


def render_offline(case: LintCase) -> str:
    """The case's SQL from Alembic's offline mode, framed as a PostgreSQL migration runs it.

    transactional_ddl wraps the revision in BEGIN;/COMMIT;, and offline autocommit_block() closes
    it with COMMIT; and reopens it with BEGIN; afterwards, so squawk sees the real boundaries.
    """
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy.dialects import mysql, postgresql

    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name=case.dialect,
        opts={"as_sql": True, "output_buffer": buffer, "transactional_ddl": True},
    )
    namespace = {
        "op": Operations(context),
        "sa": sa,
        "postgresql": postgresql,
        "mysql": mysql,
        "text": sa.text,
    }
    exec("def upgrade():\n" + textwrap.indent(case.upgrade, "    "), namespace)  # noqa: S102
    with context.begin_transaction():
        namespace["upgrade"]()
    return buffer.getvalue()


# --- squawk ---------------------------------------------------------------------------------------


def squawk_binary() -> str:
    beside = Path(sys.executable).parent / "squawk"
    found = str(beside) if beside.exists() else shutil.which("squawk")
    if not found:
        raise SystemExit("squawk not found: pip install 'squawk-cli>=2.70' (bench/run lint does)")
    return found


def squawk_version(binary: str) -> str:
    return subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.strip()


def run_squawk(binary: str, cases: list[LintCase], sql: dict[str, str]) -> tuple[dict[str, list[str]], float]:
    """squawk's raw rule names per case: one file per case, one squawk run per --pg-version."""
    by_version: dict[str, list[LintCase]] = defaultdict(list)
    for case in cases:
        by_version[case.version].append(case)
    names: dict[str, list[str]] = {case.name: [] for case in cases}
    elapsed = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        files: dict[str, str] = {}
        for index, case in enumerate(cases):
            path = Path(tmp) / f"case_{index:03d}.sql"
            path.write_text(sql[case.name])
            files[str(path)] = case.name
        for version, group in by_version.items():
            paths = [path for path, name in files.items() if name in {case.name for case in group}]
            started = time.perf_counter()
            result = subprocess.run(
                [binary, "--reporter", "json", "--pg-version", version, *paths],
                capture_output=True,
                text=True,
            )
            elapsed += time.perf_counter() - started
            if result.returncode not in (0, 1):  # 1 = violations found
                raise SystemExit(f"squawk failed ({result.returncode}):\n{result.stderr[-2000:]}")
            for violation in json.loads(result.stdout or "[]"):
                names[files[violation["file"]]].append(violation["rule_name"])
    return names, elapsed


def squawk_verdict(rule_names: list[str], expected: frozenset[str]) -> tuple[set[str], set[str]]:
    """Map squawk's rule names to error-level canonical ids, giving squawk the benefit of the doubt.

    A squawk rule that covers several of our ids counts as whichever of them the case expects;
    if it expects none, as its main meaning (the first). Returns (ids, unmapped squawk names).
    """
    ids: set[str] = set()
    unmapped: set[str] = set()
    for name in rule_names:
        candidates = SQUAWK_TO_CANONICAL.get(name)
        if candidates is None:
            unmapped.add(name)
            continue
        matching = [rule for rule in candidates if rule in expected]
        ids.update(matching or candidates[:1])
    return ids & PG_ERRORS, unmapped


def squawk(binary: str, cases: list[LintCase], sql: dict[str, str]) -> Verdicts:
    names, elapsed = run_squawk(binary, cases, sql)
    verdicts = Verdicts(squawk_version(binary), seconds=elapsed)
    unmapped: set[str] = set()
    syntax_errors = 0
    for case in cases:
        verdicts.by_case[case.name], extra = squawk_verdict(names[case.name], case.expect)
        unmapped |= extra
        syntax_errors += "syntax-error" in names[case.name]
    if unmapped:
        verdicts.notes.append(f"squawk rules with no canonical id: {', '.join(sorted(unmapped))}")
    if syntax_errors:
        verdicts.notes.append(f"squawk reported a syntax error in {syntax_errors} case(s)")
    return verdicts


# --- scoring and output ---------------------------------------------------------------------------


def score(cases: list[LintCase], verdicts: Verdicts) -> dict[str, Score]:
    """TP/FP/FN per error-level rule id over (case, rule id) pairs."""
    scores: dict[str, Score] = defaultdict(Score)
    for case in cases:
        expected = case.expect & PG_ERRORS
        got = verdicts.by_case[case.name]
        for rule in got & expected:
            scores[rule].tp += 1
        for rule in got - expected:
            scores[rule].fp += 1
        for rule in expected - got:
            scores[rule].fn += 1
    return scores


def total(scores: dict[str, Score]) -> Score:
    return Score(*(sum(getattr(s, part) for s in scores.values()) for part in ("tp", "fp", "fn")))


def exact_cases(cases: list[LintCase], verdicts: Verdicts) -> int:
    """Cases whose error-level verdict is exactly right (a safe case with no error counts too)."""
    return sum(verdicts.by_case[case.name] == case.expect & PG_ERRORS for case in cases)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def table_rows(cases: list[LintCase], tools: list[Verdicts]) -> list[list[str]]:
    scored = [score(cases, tool) for tool in tools]
    support = defaultdict(int)
    for case in cases:
        for rule in case.expect & PG_ERRORS:
            support[rule] += 1
    rules = sorted(set(support) | {rule for s in scored for rule in s})
    rows = []
    for rule in rules:
        row = [rule, str(support[rule])]
        for s in scored:
            cell = s.get(rule, Score())
            row += [f"{cell.tp}/{cell.fp}/{cell.fn}", pct(cell.precision), pct(cell.recall)]
        rows.append(row)
    overall = ["**all**", str(sum(support.values()))]
    for s in scored:
        cell = total(s)
        overall += [f"{cell.tp}/{cell.fp}/{cell.fn}", pct(cell.precision), pct(cell.recall)]
    rows.append(overall)
    return rows


def header(tools: list[Verdicts]) -> list[str]:
    cells = ["rule (error level)", "cases"]
    for tool in tools:
        name = tool.tool.split()[0]
        cells += [f"{name} TP/FP/FN", "precision", "recall"]
    return cells


def print_plain(cases: list[LintCase], tools: list[Verdicts], summary: list[str]) -> None:
    rows = [header(tools), *table_rows(cases, tools)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print()
    print("\n".join(summary))


def print_markdown(cases: list[LintCase], tools: list[Verdicts], summary: list[str]) -> None:
    print(f"## Linter vs squawk (`bench/run lint`), {time.strftime('%Y-%m-%d')}\n")
    print(
        f"{len(cases)} PostgreSQL cases from tests/lint_cases ({sum(c.safe for c in cases)} safe). Both tools"
        " read the SQL asyncmigrate rendered for each case; squawk gets `--pg-version` from the case."
        " Scores count (case, rule id) pairs for error-level ids only; squawk's rule names are mapped"
        " with the appendix of lint-rules.md, and a squawk rule that covers several ids counts as"
        " the one the case expects.\n"
    )
    rows = [header(tools), *table_rows(cases, tools)]
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows[1:]:
        print("| " + " | ".join(row) + " |")
    print()
    print("\n".join(f"- {line}" for line in summary))


def summary_lines(
    cases: list[LintCase], tools: list[Verdicts], timing: list[float] | None, n_all: int
) -> list[str]:
    lines = []
    for tool in tools:
        cell = total(score(cases, tool))
        lines.append(
            f"{tool.tool}: precision {pct(cell.precision)}, recall {pct(cell.recall)};"
            f" error-level verdict exactly right in {exact_cases(cases, tool)}/{len(cases)} cases;"
            f" false errors on {sum(bool(tool.by_case[c.name]) for c in cases if c.safe)}"
            f"/{sum(c.safe for c in cases)} safe cases"
        )
        lines += tool.notes
    if timing:
        median = statistics.median(timing)
        lines.append(
            f"asyncmigrate lint time, all {n_all} cases (every dialect, history replayed):"
            f" median {median:.2f} s over {len(timing)} rounds ({1000 * median / n_all:.1f} ms per case)"
        )
    squawk_tool = tools[-1]
    lines.append(
        f"squawk time, {len(cases)} PostgreSQL cases: {squawk_tool.seconds:.2f} s"
        " (one process per --pg-version, one file per case)"
    )
    return lines


def show_misses(cases: list[LintCase], tools: list[Verdicts]) -> None:
    """Per case, where a tool's error-level verdict differs from the expected one."""
    for tool in tools:
        print(f"\n{tool.tool}: cases not judged exactly")
        for case in cases:
            expected, got = case.expect & PG_ERRORS, tool.by_case[case.name]
            if expected != got:
                missed, extra = sorted(expected - got) or "-", sorted(got - expected) or "-"
                print(f"  {case.name}: missed {missed}, extra {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the block for bench/RESULTS.md")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds over all cases")
    parser.add_argument(
        "--render",
        choices=("engine", "alembic"),
        default="engine",
        help="squawk's input: our renderer's SQL (default) or plain Alembic offline output",
    )
    parser.add_argument("--show-misses", action="store_true", help="list each case a tool got wrong")
    options = parser.parse_args()

    all_cases = load_cases(CASE_DIR)
    cases = [case for case in all_cases if case.dialect == "postgresql"]
    mine, sql = ours(cases)
    tools: list[Verdicts] = [mine]
    timing = time_all_cases(all_cases, options.rounds)
    if options.render == "alembic":
        sql = {case.name: render_offline(case) for case in cases}
    tools.append(squawk(squawk_binary(), cases, sql))

    summary = summary_lines(cases, tools, timing, len(all_cases))
    if options.markdown:
        print_markdown(cases, tools, summary)
    else:
        print_plain(cases, tools, summary)
    if options.show_misses:
        show_misses(cases, tools)


if __name__ == "__main__":
    main()
