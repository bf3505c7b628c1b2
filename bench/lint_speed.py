"""Benchmark: `asyncmigrate lint` on long histories, next to rendering the same history with
`alembic upgrade base:head --sql` (what any SQL-level linter must do first).

Generates projects of N revisions (realistic operations, see bench/stairway.py), then times
whole processes, interleaved over several rounds after a warm-up, and prints medians, min/max
and ratios. run: bench/run lint_speed [--revisions 100 500 2000] [--rounds 3]
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
from stairway import generate_project  # noqa: E402


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Whole-process seconds; lint exits 1 when it finds errors, which is fine here."""
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1) or (result.returncode == 1 and "alembic" in args[2]):
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")
    return elapsed


def measure(root: Path, rounds: int) -> tuple[list[float], list[float]]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATABASE_URL"] = "postgresql+asyncpg://nobody@127.0.0.1:1/none"  # offline only
    lint = [sys.executable, "-m", "asyncmigrate", "lint", "--dialect", "postgresql", "--pg-version", "15"]
    render = [sys.executable, "-m", "alembic", "upgrade", "base:head", "--sql"]
    ours, theirs = [], []
    for round_number in range(rounds + 1):
        a = timed([*lint, "--format", "json"], root, env)
        b = timed(render, root, env)
        if round_number:
            ours.append(a)
            theirs.append(b)
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    print(f"{options.rounds} rounds after a warm-up; whole-process seconds, median [min-max]")
    print(f"{'revisions':>9s} {'asyncmigrate lint':>24s} {'alembic --sql':>22s} {'ratio':>6s} {'ms/rev':>7s}")
    for count in options.revisions:
        root = Path(tempfile.mkdtemp(prefix=f"bench-lint-{count}-"))
        generate_project(root, count)
        ours, theirs = measure(root, options.rounds)
        a, b = statistics.median(ours), statistics.median(theirs)
        print(
            f"{count:9d} {a:9.2f} [{min(ours):5.2f}-{max(ours):5.2f}]"
            f" {b:8.2f} [{min(theirs):5.2f}-{max(theirs):5.2f}] {a / b:5.2f}x {1000 * a / count:7.1f}"
        )


if __name__ == "__main__":
    main()
