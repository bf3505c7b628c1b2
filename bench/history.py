"""Benchmark: read-only and upgrade commands on long histories, asyncmigrate vs plain alembic.

Generates a project with N revisions (realistic operations, see bench/stairway.py), then times
whole processes, interleaved over several rounds after a warm-up:

* `heads`, `history`, `branches`, `current`, `status` (read-only);
* `upgrade head` from an empty SQLite database (and PostgreSQL with --pg-url), asyncmigrate (one
  transaction per revision, apply lock, history rows) vs alembic with the same env.py.

The same project serves both tools: asyncmigrate's env.py also runs under plain `alembic`.
Figures for issue 7's targets; run: bench/run history [--revisions 500] [--rounds 3] [--pg-url URL]
[--no-upgrade] (or bench/history.py directly with the project's venv).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from stairway import create_pg_database, generate_project  # noqa: E402


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("ASYNCMIGRATE_TEST_PG_URL"))
    parser.add_argument("--no-upgrade", action="store_true", help="only the read-only commands")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-history-"))
    generate_project(root, options.revisions)
    ours = [sys.executable, "-m", "asyncmigrate"]
    theirs = [sys.executable, "-m", "alembic"]
    # bytecode is written and reused, as on a user's machine: with PYTHONDONTWRITEBYTECODE,
    # alembic would compile every revision file on every run
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")}
    read_db = f"sqlite+aiosqlite:///{root / 'read.db'}"
    env = dict(base_env, DATABASE_URL=read_db)
    subprocess.run([*ours, "upgrade", "head"], cwd=root, env=env, capture_output=True, check=True)

    cases: dict[str, tuple[list[str], list[str], dict[str, str]]] = {
        "heads": (["heads"], ["heads"], env),
        "history": (["history"], ["history"], env),
        "branches": (["branches"], ["branches"], env),
        "current": (["current"], ["current"], env),
        "status (alembic: current -v)": (["status"], ["current", "--verbose"], env),
    }
    if options.pg_url:
        pg_env = dict(base_env, DATABASE_URL=create_pg_database(options.pg_url))
        subprocess.run([*ours, "upgrade", "head"], cwd=root, env=pg_env, capture_output=True, check=True)
        cases["current (postgresql)"] = (["current"], ["current"], pg_env)
        cases["status (postgresql)"] = (["status"], ["current", "--verbose"], pg_env)
    print(f"{options.revisions} revisions, {options.rounds} rounds after a warm-up; whole-process seconds")
    print(f"{'command':28s} {'asyncmigrate':>12s} {'alembic':>9s} {'ratio':>6s}")
    for name, (our_args, their_args, case_env) in cases.items():
        ours_times, theirs_times = [], []
        for round_number in range(options.rounds + 1):
            a = timed([*ours, *our_args], root, case_env)
            b = timed([*theirs, *their_args], root, case_env)
            if round_number:
                ours_times.append(a)
                theirs_times.append(b)
        a, b = statistics.median(ours_times), statistics.median(theirs_times)
        print(f"{name:28s} {a:12.3f} {b:9.3f} {b / a:6.2f}x")

    if options.no_upgrade:
        return
    targets = [("sqlite", None)] + ([("postgresql", options.pg_url)] if options.pg_url else [])
    for label, server in targets:
        ours_times, theirs_times = [], []
        for round_number in range(options.rounds + 1):
            for tool, times in ((ours, ours_times), (theirs, theirs_times)):
                if server:
                    url = create_pg_database(server)
                else:
                    url = f"sqlite+aiosqlite:///{root / f'up-{len(times)}-{tool[-1]}-{round_number}.db'}"
                elapsed = timed([*tool, "upgrade", "head"], root, dict(base_env, DATABASE_URL=url))
                if round_number:
                    times.append(elapsed)
        a, b = statistics.median(ours_times), statistics.median(theirs_times)
        print(f"{'upgrade head (' + label + ')':28s} {a:12.2f} {b:9.2f} {b / a:6.2f}x")


if __name__ == "__main__":
    main()
