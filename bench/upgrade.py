"""Benchmark: `upgrade head` from an empty database, asyncmigrate vs plain Alembic vs the floor.

Three ways to apply the same generated history (bench/stairway.py: tables with FKs and indexes,
added columns, indexes, data updates), each in its own process, interleaved over several rounds
after a warm-up, with the same transaction layout (one transaction per revision, the version row
updated in each):

* asyncmigrate `upgrade head` (apply lock, lock_timeout per revision, history rows);
* plain `alembic upgrade head` with Alembic's own async env.py template, configured with
  `transaction_per_migration=True`;
* the floor: the SQL `alembic upgrade head --sql` prints for that layout, replayed in one
  process by asyncpg (PostgreSQL) or sqlite3 (SQLite), one round trip per revision's
  transaction, under an advisory lock on PostgreSQL.

Prints medians [min-max], peak RSS and the ratios. run: bench/run upgrade [--revisions 100 500]
[--rounds 3] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from stairway import create_pg_database, generate_project  # noqa: E402

REPLAY = Path(__file__).with_name("replay_sql.py")


def run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Whole-process seconds and peak RSS (MiB) of one command."""
    started = time.perf_counter()
    process = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    out, err = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out[-1500:]}{err[-1500:]}")
    return elapsed, usage.ru_maxrss / 1024


def plain_alembic_project(root: Path, source: Path) -> None:
    """Alembic's async template, transaction_per_migration=True, URL from $DATABASE_URL."""
    subprocess.run(
        [sys.executable, "-m", "alembic", "init", "-t", "async", "migrations"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    env_py = root / "migrations" / "env.py"
    text = env_py.read_text()
    text = text.replace(
        "target_metadata=target_metadata)", "target_metadata=target_metadata, transaction_per_migration=True)"
    )
    text = text.replace(
        "        literal_binds=True,", "        literal_binds=True,\n        transaction_per_migration=True,"
    )
    text = text.replace(
        "config = context.config",
        "config = context.config\n"
        "import os\nconfig.set_main_option('sqlalchemy.url', os.environ['DATABASE_URL'])",
    )
    env_py.write_text(text)
    versions = root / "migrations" / "versions"
    for revision in (source / "migrations" / "versions").glob("*.py"):
        shutil.copy(revision, versions / revision.name)


def offline_sql(plain: Path, url: str) -> Path:
    """What the plain project would run, as SQL, with its BEGIN/COMMIT per revision."""
    env = dict(os.environ, DATABASE_URL=url)
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head", "--sql"],
        cwd=plain,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    path = plain / f"upgrade-{url.split(':')[0].split('+')[0]}.sql"
    path.write_text(done.stdout)
    return path


def _cell(median: float, low: float, high: float, rss: float) -> str:
    return f"{median:6.2f} [{low:5.2f}-{high:5.2f}] {rss:4.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, nargs="+", default=[500])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("ASYNCMIGRATE_TEST_PG_URL"))
    options = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    python = sys.executable
    print(f"{options.rounds} rounds after a warm-up; whole-process seconds median [min-max], peak RSS MiB")
    print(
        f"{'work':30s} {'asyncmigrate':>22s} {'alembic':>22s} {'floor':>22s} {'ours/floor':>10s}"
        f" {'alembic/ours':>12s}"
    )
    for count in options.revisions:
        root = Path(tempfile.mkdtemp(prefix=f"bench-upgrade-{count}-"))
        ours_dir, plain_dir = root / "ours", root / "plain"
        ours_dir.mkdir()
        plain_dir.mkdir()
        generate_project(ours_dir, count)
        plain_alembic_project(plain_dir, ours_dir)
        targets = [("sqlite", None)] + ([("postgresql", options.pg_url)] if options.pg_url else [])
        for label, server in targets:
            sql = offline_sql(plain_dir, server or "sqlite:///offline.db")
            results: dict[str, list[tuple[float, float]]] = {"ours": [], "alembic": [], "floor": []}
            for round_number in range(options.rounds + 1):
                for tool in results:
                    if server:
                        url = create_pg_database(server)
                    else:
                        url = f"sqlite+aiosqlite:///{root / f'{label}-{tool}-{round_number}.db'}"
                    env = dict(base_env, DATABASE_URL=url)
                    if tool == "ours":
                        args, cwd = [python, "-m", "asyncmigrate", "upgrade", "head"], ours_dir
                    elif tool == "alembic":
                        args, cwd = [python, "-m", "alembic", "upgrade", "head"], plain_dir
                    else:
                        args, cwd = [python, str(REPLAY), url, str(sql)], root
                    measured = run(args, cwd, env)
                    if round_number:
                        results[tool].append(measured)
            cells = {}
            for tool, measured in results.items():
                times = [t for t, _ in measured]
                rss = max(r for _, r in measured)
                cells[tool] = (statistics.median(times), min(times), max(times), rss)
            ours, alembic, floor = cells["ours"][0], cells["alembic"][0], cells["floor"][0]

            shown = [_cell(*cells[tool]) for tool in ("ours", "alembic", "floor")]
            print(
                f"{f'upgrade head, {count} revs, {label}':34s} {shown[0]:>22s} {shown[1]:>22s}"
                f" {shown[2]:>22s}"
                f" {ours / floor:9.2f}x {alembic / ours:11.2f}x"
            )


if __name__ == "__main__":
    main()
