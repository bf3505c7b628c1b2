"""Print the corpus results as Markdown tables: per project, database and command, whether it
works, fails in the history itself (Alembic fails the same way) or fails in asyncmigrate only.

    python -m tests.corpus.report            # the results the last test run left in the cache
    python -m tests.corpus.report --run all  # run the projects first (or --run optuna,buildbot)

Needs ASYNCMIGRATE_TEST_PG_URL for the PostgreSQL rows (source /tmp/dev/env.sh or scripts/test).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .harness import COMMANDS, PAIRED, Unreachable, cache_dir, run_project
from .projects import BY_NAME, PROJECTS, known_failure

MARK = {"works": "ok", "history": "history", "ours": "**asyncmigrate**"}


def load() -> list[dict]:
    results = []
    for project in PROJECTS:
        for dialect in project.dialects:
            path = cache_dir() / "results" / f"{project.name}-{dialect}.json"
            if path.exists():
                results.append(json.loads(path.read_text()))
    return results


def run(names: str) -> None:
    chosen = PROJECTS if names == "all" else [BY_NAME[n] for n in names.split(",")]
    with tempfile.TemporaryDirectory() as directory:
        for project in chosen:
            for dialect in project.dialects:
                try:
                    run_project(project, dialect, Path(directory) / f"{project.name}-{dialect}")
                except Unreachable as error:
                    print(f"skipped {project.name} on {dialect}: {error}", file=sys.stderr)


def table(results: list[dict]) -> str:
    short = {c: c.replace("upgrade head", "upgrade").replace("downgrade base", "downgrade") for c in COMMANDS}
    lines = [
        "| project | db | revs | " + " | ".join(short[c] for c in COMMANDS) + " |",
        "|---|---|---|" + "---|" * len(COMMANDS),
    ]
    for result in results:
        cells = [MARK[result["cells"][c]["verdict"]] for c in COMMANDS]
        lines.append(
            f"| {result['project']} {result['version']} | {result['dialect']} | {result['revisions']} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def details(results: list[dict]) -> str:
    """One line per cell that is not plain ``ok``: what failed and where."""
    history, ours = [], []
    for result in results:
        for command in COMMANDS:
            cell = result["cells"][command]
            where = f"{result['project']} / {result['dialect']} / `{command}`"
            detail = " ".join(cell["detail"].split())[:240]
            if cell["verdict"] == "history":
                tool = "alembic and asyncmigrate" if command in PAIRED else "asyncmigrate reports"
                history.append(f"- {where}: {tool}: {detail}")
            elif cell["verdict"] == "ours":
                known = known_failure(result["project"], result["dialect"], command, cell["detail"])
                ours.append(f"- {where}: {detail}" + ("" if known else " (not in KNOWN_FAILURES)"))
    out = ["Fails in the history itself (plain Alembic fails the same way):", "", *(history or ["- none"])]
    out += ["", "Fails in asyncmigrate only:", "", *(ours or ["- none"])]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", metavar="PROJECTS", help="'all' or a comma-separated list of project names")
    args = parser.parse_args()
    if args.run:
        run(args.run)
    results = load()
    print(table(results))
    print()
    print(details(results))


if __name__ == "__main__":
    main()
