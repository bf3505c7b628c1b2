"""Benchmark: asyncmigrate's stairway vs pytest-alembic's test_up_down_consistency.

Both run on the same generated 120-revision history (tables with FKs and indexes, added columns,
indexes, data updates), on SQLite and, with --pg-url, PostgreSQL, interleaved over several
rounds after a warm-up. Whole processes are timed, as a user runs them. pytest-alembic does all
ups, all downs, all ups with no schema comparison; the stairway does up, down, up per revision
and compares four catalog snapshots per revision. So it does more work, and this measures what
that costs.

Run through bench/run (which builds a venv with pytest-alembic beside asyncmigrate):
    bench/run stairway [--pg-url postgresql+asyncpg://...] [--rounds 3] [--revisions 120]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REVISION = '''\
"""step {n}"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
{upgrade}


def downgrade():
{downgrade}
'''


def operations(n: int) -> tuple[str, str]:
    """A realistic mix, cycling: new table with FK + index, added column, index, data update."""
    kind = n % 4
    table = f"t{n - kind:04d}"
    if kind == 0:
        parent = f"t{n - 4:04d}" if n >= 4 else None
        fk = f', sa.Column("parent_id", sa.Integer, sa.ForeignKey("{parent}.id"))' if parent else ""
        return (
            f'    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True),'
            f' sa.Column("name", sa.String(50), nullable=False){fk})\n'
            f'    op.create_index("ix_{table}_name", "{table}", ["name"])',
            f'    op.drop_index("ix_{table}_name", table_name="{table}")\n    op.drop_table("{table}")',
        )
    if kind == 1:
        return (
            f'    op.add_column("{table}", sa.Column("note", sa.String(200)))',
            f'    with op.batch_alter_table("{table}") as batch:\n        batch.drop_column("note")',
        )
    if kind == 2:
        return (
            f'    op.create_index("ix_{table}_note", "{table}", ["note"])',
            f'    op.drop_index("ix_{table}_note", table_name="{table}")',
        )
    return (f"    op.execute(\"UPDATE {table} SET note = 'x' WHERE note IS NULL\")", "    pass")


def generate_project(root: Path, count: int) -> None:
    from asyncmigrate.scaffold import init_project

    init_project(project_dir=root, models="unused")
    versions = root / "migrations" / "versions"
    down = None
    for n in range(count):
        rev = f"r{n:04d}"
        upgrade, downgrade = operations(n)
        (versions / f"{rev}.py").write_text(
            REVISION.format(n=n, rev=rev, down=down, upgrade=upgrade, downgrade=downgrade)
        )
        down = rev
    (root / "pa_tests").mkdir()
    (root / "pa_tests" / "conftest.py").write_text(
        "import os\nimport pytest\nimport sqlalchemy\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from pytest_alembic.config import Config\n\n\n"
        "@pytest.fixture\ndef alembic_config():\n"
        f"    return Config(config_options={{'script_location': '{root / 'migrations'}'}})\n\n\n"
        "@pytest.fixture\ndef alembic_engine():\n"
        "    url = os.environ['PA_URL']\n"
        "    if url.startswith('sqlite'):\n"
        "        return sqlalchemy.create_engine(url.replace('+aiosqlite', ''))\n"
        "    return create_async_engine(url)\n"
    )
    (root / "pa_tests" / "test_pa.py").write_text(
        "from pytest_alembic.tests import test_up_down_consistency  # noqa\n"
    )
    (root / "pa_tests" / "pytest.ini").write_text("[pytest]\npytest_alembic_tests_path = does/not/exist.py\n")


def create_pg_database(admin_url: str) -> str:
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    name = f"bench_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        connection = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
        )
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()

    asyncio.run(create())
    return url.set(database=name).render_as_string(hide_password=False)


def run_ours(root: Path, server_url: str | None) -> float:
    # the server the throwaway databases go on; on SQLite a file URL says which driver to use
    # (without one, a command with no terminal refuses the unchosen embedded default)
    url = server_url or f"sqlite+aiosqlite:///{root / 'bench.db'}"
    args = [sys.executable, "-m", "asyncmigrate", "--url", url]
    started = time.perf_counter()
    result = subprocess.run(
        [*args, "test", "stairway", "--format", "json"], cwd=root, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"stairway failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def run_pytest_alembic(root: Path, url: str) -> float:
    env = dict(os.environ, PA_URL=url)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_alembic", "pa_tests"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"pytest-alembic failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("ASYNCMIGRATE_TEST_PG_URL"))
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-stairway-"))
    generate_project(root, options.revisions)
    targets = [("sqlite", None)] + ([("postgresql", options.pg_url)] if options.pg_url else [])
    print(f"{options.revisions} revisions, {options.rounds} rounds after a warm-up; whole-process seconds")
    for name, server in targets:
        times: dict[str, list[float]] = {"asyncmigrate stairway": [], "pytest-alembic up_down": []}
        for round_number in range(options.rounds + 1):
            if server:
                pa_url = create_pg_database(server)
            else:
                pa_url = f"sqlite+aiosqlite:///{root / f'pa{round_number}.db'}"
            ours = run_ours(root, server)
            theirs = run_pytest_alembic(root, pa_url)
            if round_number:  # the first round is the warm-up
                times["asyncmigrate stairway"].append(ours)
                times["pytest-alembic up_down"].append(theirs)
        ours_median = statistics.median(times["asyncmigrate stairway"])
        theirs_median = statistics.median(times["pytest-alembic up_down"])
        print(f"\n{name}:")
        for label, values in times.items():
            median = statistics.median(values)
            print(f"  {label:24s} median {median:6.2f}  min {min(values):6.2f}  max {max(values):6.2f}")
        print(f"  ratio stairway / up_down: {ours_median / theirs_median:.2f}")


if __name__ == "__main__":
    main()
