"""Benchmark: `upgrade head` from an empty database, asyncmigrate vs plain Alembic vs the floor.

Three ways to apply the same generated history (bench/stairway.py: tables with FKs and indexes,
added columns, indexes, data updates), each in its own process, interleaved over several rounds
after a warm-up, with the same transaction layout (one transaction per revision, the version row
updated in each):

* asyncmigrate `upgrade head` (apply lock, lock_timeout per revision, history rows);
* plain `alembic upgrade head` with Alembic's own async env.py template, configured with
  `transaction_per_migration=True`;
* the floor: the SQL `alembic upgrade head --sql` prints for that layout, replayed in one
  process by asyncpg (PostgreSQL) or sqlite3 (SQLite) under an advisory lock on PostgreSQL,
  twice: statement by statement (each statement, BEGIN and COMMIT sent and awaited on its own,
  as a client that names the failing statement must), and one round trip per revision's
  transaction (one script for BEGIN ... COMMIT, the lowest any client can go).

The floors above do not run Python revision files, which any tool built on Alembic's must: a
third floor adds the time `alembic upgrade head --sql` takes to render the SQL (import Alembic
and SQLAlchemy, load and run every revision's upgrade() offline) to the statement-by-statement
replay, per round: "render + replay", what cannot be avoided without dropping Alembic's revision
files.

Bytecode is written and reused (PYTHONDONTWRITEBYTECODE is dropped), as on a user's machine:
otherwise every run compiles every revision file and asyncmigrate's own editable sources.

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
    """Whole-process seconds and peak RSS (MiB) of one command. Its output goes to files, not
    pipes: a pipe nobody reads while waiting for the process fills up and blocks it."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            out.seek(0)
            err.seek(0)
            raise SystemExit(f"{' '.join(args)} failed:\n{out.read()[-1500:]}{err.read()[-1500:]}")
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
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")}
    python = sys.executable
    print(f"{options.rounds} rounds after a warm-up; whole-process seconds median [min-max], peak RSS MiB")
    print(
        f"{'work':34s} {'asyncmigrate':>22s} {'alembic':>22s} {'floor, render+replay':>22s}"
        f" {'floor, statements':>22s} {'floor, scripts':>22s} {'ours/render+replay':>18s}"
        f" {'ours/stmts':>10s} {'ours/scripts':>12s} {'alembic/ours':>12s}"
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
            results: dict[str, list[tuple[float, float]]] = {
                "ours": [],
                "alembic": [],
                "statements": [],
                "script": [],
                "render": [],
            }
            for round_number in range(options.rounds + 1):
                for tool in results:
                    if server:
                        url = create_pg_database(server)
                    else:
                        url = f"sqlite+aiosqlite:///{root / f'{label}-{tool}-{round_number}.db'}"
                    env = dict(base_env, DATABASE_URL=url)
                    if tool == "render":
                        args, cwd = [python, "-m", "alembic", "upgrade", "head", "--sql"], plain_dir
                    elif tool == "ours":
                        args, cwd = [python, "-m", "asyncmigrate", "upgrade", "head"], ours_dir
                    elif tool == "alembic":
                        args, cwd = [python, "-m", "alembic", "upgrade", "head"], plain_dir
                    else:
                        args, cwd = [python, str(REPLAY), url, str(sql), tool], root
                    measured = run(args, cwd, env)
                    if round_number:
                        results[tool].append(measured)
            results["render+replay"] = [
                (render + replay, max(render_rss, replay_rss))
                for (render, render_rss), (replay, replay_rss) in zip(
                    results["render"], results["statements"], strict=True
                )
            ]
            cells = {}
            for tool, measured in results.items():
                times = [t for t, _ in measured]
                rss = max(r for _, r in measured)
                cells[tool] = (statistics.median(times), min(times), max(times), rss)
            ours, alembic = cells["ours"][0], cells["alembic"][0]
            floors = [cells[tool][0] for tool in ("render+replay", "statements", "script")]
            shown = [_cell(*cells[t]) for t in ("ours", "alembic", "render+replay", "statements", "script")]
            print(
                f"{f'upgrade head, {count} revs, {label}':34s} "
                + " ".join(f"{cell:>22s}" for cell in shown)
                + f" {ours / floors[0]:17.2f}x {ours / floors[1]:9.2f}x {ours / floors[2]:11.2f}x"
                f" {alembic / ours:11.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
