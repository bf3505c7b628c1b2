"""Benchmark: what each use of another library's private name (src/asyncmigrate/internals/) buys.

Every such use is a "trick" with a public fallback that gives the same result;
``ASYNCMIGRATE_PUBLIC_PATHS=<name>`` makes a whole process take the fallback. For each command a
trick speeds up, this times the command with every trick on (the default) and with one trick
off at a time (and with all off), whole processes interleaved over several rounds after a
warm-up, and prints the median, min-max and the ratio fallback / default. A trick is worth
keeping when that ratio is at least 1.10 on its command (issue 15's bar), beyond the spread the
default itself shows from round to round.

* ``upgrade head`` of a generated history (bench/stairway.py) from an empty database: the version
  UPDATE template, the asyncpg simple-query path, the task-local ``op``/``context`` proxies;
* ``check`` on a wide schema (bench/wide.py): the batched-reflection tricks.

The tricks this showed worth less than 10 % (rich's emoji table on ``status``, five SQLAlchemy
names on ``check``) were dropped on 2026-12-03; bench/RESULTS.md has their figures.

run: bench/run tricks [--revisions 500] [--tables 500] [--rounds 5] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from stairway import create_pg_database, generate_project  # noqa: E402
from upgrade import run  # noqa: E402
from wide import create_schema, generate_models, load_metadata  # noqa: E402

UPGRADE_TRICKS = ["alembic.update_version", "asyncpg.adapter", "alembic.module_proxies"]
CHECK_TRICKS = ["alembic.insp_keys", "sqlalchemy.sqlite_reads"]


def measure(
    label: str,
    variants: list[str],
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    rounds: int,
    fresh_url: object = None,
) -> None:
    """Time ``args`` under each variant ("" = every trick on), interleaved, and print ratios."""
    times: dict[str, list[float]] = {variant: [] for variant in variants}
    for round_number in range(rounds + 1):
        for variant in variants:
            run_env = dict(env, ASYNCMIGRATE_PUBLIC_PATHS=variant)
            if callable(fresh_url):
                run_env["DATABASE_URL"] = fresh_url()
            elapsed, _ = run(args, cwd, run_env)
            if round_number:  # the first round is the warm-up
                times[variant].append(elapsed)
    default = statistics.median(times[""])
    spread = (max(times[""]) - min(times[""])) / default
    print(f"\n{label} (default {default:.2f} s, its own spread {spread * 100:.0f}% of the median)")
    for variant in variants:
        values = times[variant]
        median = statistics.median(values)
        name = variant or "default (every trick on)"
        print(
            f"  {name:34s} {median:6.2f} [{min(values):.2f}-{max(values):.2f}]"
            f"  fallback/default {median / default:5.2f}x",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=500)
    parser.add_argument("--tables", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg-url", default=os.environ.get("ASYNCMIGRATE_TEST_PG_URL"))
    parser.add_argument("--only", choices=["upgrade", "check"], nargs="+")
    options = parser.parse_args()
    only = set(options.only or ["upgrade", "check"])
    from asyncmigrate.scaffold import init_project

    python = sys.executable
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")}
    root = Path(tempfile.mkdtemp(prefix="bench-tricks-"))
    print(f"{options.rounds} rounds after a warm-up, interleaved; whole-process seconds, median [min-max]")

    if "upgrade" in only:
        project = root / "history"
        project.mkdir()
        generate_project(project, options.revisions)
        counter = iter(range(10**6))
        servers: list[tuple[str, str | None]] = [("sqlite", None)]
        if options.pg_url:
            servers.append(("postgresql", options.pg_url))
        for label, server in servers:
            tricks = [t for t in UPGRADE_TRICKS if server or t != "asyncpg.adapter"]

            def fresh(server: str | None = server) -> str:
                if server:
                    return create_pg_database(server)
                return f"sqlite+aiosqlite:///{root / f'upgrade-{next(counter)}.db'}"

            measure(
                f"upgrade head, {options.revisions} revisions, {label}",
                ["", *tricks, "all"],
                [python, "-m", "asyncmigrate", "upgrade", "head"],
                project,
                base_env,
                options.rounds,
                fresh_url=fresh,
            )

    if "check" in only:
        project = root / "wide"
        project.mkdir()
        generate_models(project, options.tables)
        init_project(project_dir=project, models="wide_models")
        metadata = load_metadata(project)
        targets = [("sqlite", f"sqlite+aiosqlite:///{project / 'wide.db'}")]
        if options.pg_url:
            targets.append(("postgresql", create_pg_database(options.pg_url)))
        for label, url in targets:
            create_schema(url, metadata)
            tricks = [t for t in CHECK_TRICKS if label == "sqlite" or "sqlite" not in t]
            measure(
                f"check, {options.tables} tables, {label}",
                ["", *tricks, "all"],
                [python, "-m", "asyncmigrate", "check"],
                project,
                dict(base_env, DATABASE_URL=url, PYTHONPATH=str(project)),
                options.rounds,
            )


if __name__ == "__main__":
    main()
