"""Benchmark: declared views, functions and triggers compared by autogenerate, asyncmigrate's
``declare(...)`` vs alembic-utils' ``register_entities`` vs the floor (Alembic alone).

Creates one PostgreSQL database holding tables, functions, views (a fifth of them on another
view) and triggers, all as declared (an unchanged database: every comparison must find nothing),
then times, interleaved over several rounds after a warm-up, one autogenerate comparison
(``produce_migrations``) in a fresh process each: with our plugin on and the objects declared on
the metadata; with alembic-utils 0.8.8's entities registered; and Alembic's tables alone. The
process measures the comparison itself (connection open, models imported), and says how many
operations it found.
Run: bench/run schema_objects [--triggers 150] [--views 50] [--functions 20] [--rounds 5]
     [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from stairway import create_pg_database  # noqa: E402

TRIGGERS_PER_TABLE = 5


def sizes(triggers: int, views: int, functions: int) -> dict[str, int]:
    return {"triggers": triggers, "views": views, "functions": functions}


def function_sql(n: int) -> tuple[str, str]:
    """(signature, definition) of trigger function ``n``."""
    body = f"RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    NEW.note := 'f{n}';\n    RETURN NEW;\nEND\n$$"
    return f"fn_{n}()", body


def view_sql(n: int, tables: int) -> str:
    """Every fifth view reads the view before it (views on views)."""
    if n % 5 == 4:
        return f"SELECT id, note FROM public.v_{n - 1} WHERE id > {n}"
    return f"SELECT id, note FROM public.t_{n % tables} WHERE id > {n}"


def trigger_sql(n: int, functions: int) -> tuple[str, str]:
    """(table, definition after the name) of trigger ``n``."""
    table = f"t_{n // TRIGGERS_PER_TABLE}"
    return table, f"BEFORE UPDATE ON public.{table} FOR EACH ROW EXECUTE FUNCTION public.fn_{n % functions}()"


def table_count(counts: dict[str, int]) -> int:
    return max(1, -(-counts["triggers"] // TRIGGERS_PER_TABLE))


#: What a measuring process runs: builds the models and the declarations, then one comparison.
PROBE = """
import asyncio, json, sys, time
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
sys.path.insert(0, {bench!r})
from schema_objects import function_sql, trigger_sql, view_sql, table_count

mode, url, counts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
tables = table_count(counts)
metadata = sa.MetaData()
for n in range(tables):
    sa.Table(f"t_{{n}}", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("note", sa.Text))
plugins = ["alembic.autogenerate.*"]
if mode == "asyncmigrate":
    from asyncmigrate.autogenerate import Function, Trigger, View, autogenerate_plugins, declare
    objects = [Function(*function_sql(n)) for n in range(counts["functions"])]
    objects += [View(f"v_{{n}}", view_sql(n, tables)) for n in range(counts["views"])]
    for n in range(counts["triggers"]):
        table, definition = trigger_sql(n, counts["functions"])
        objects.append(Trigger(f"trg_{{n}}", on=table, definition=definition))
    declare(metadata, *objects)
    plugins = autogenerate_plugins()
elif mode == "alembic-utils":
    from alembic_utils.pg_function import PGFunction
    from alembic_utils.pg_trigger import PGTrigger
    from alembic_utils.pg_view import PGView
    from alembic_utils.replaceable_entity import register_entities
    entities = [PGFunction("public", *function_sql(n)) for n in range(counts["functions"])]
    entities += [PGView("public", f"v_{{n}}", view_sql(n, tables)) for n in range(counts["views"])]
    for n in range(counts["triggers"]):
        table, definition = trigger_sql(n, counts["functions"])
        trigger = PGTrigger("public", f"trg_{{n}}", on_entity=f"public.{{table}}", definition=definition)
        entities.append(trigger)
    register_entities(entities)

from alembic.autogenerate import produce_migrations
from alembic.runtime.migration import MigrationContext


def compare(connection):
    context = MigrationContext.configure(
        connection,
        opts={{"target_metadata": metadata, "autogenerate_plugins": plugins, "include_schemas": False}},
    )
    started = time.perf_counter()
    script = produce_migrations(context, metadata)
    return time.perf_counter() - started, len(script.upgrade_ops.as_diffs())


async def main():
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")
        elapsed, diffs = await connection.run_sync(compare)
    await engine.dispose()
    print(json.dumps({{"seconds": elapsed, "diffs": diffs}}))


asyncio.run(main())
"""


async def create_objects(url: str, counts: dict[str, int]) -> None:
    """The database as declared: tables, functions, views (in order), triggers."""
    from sqlalchemy.ext.asyncio import create_async_engine

    tables = table_count(counts)
    statements = [f"CREATE TABLE t_{n} (id integer PRIMARY KEY, note text)" for n in range(tables)]
    statements += [
        f"CREATE FUNCTION public.{signature} {definition}"
        for signature, definition in (function_sql(n) for n in range(counts["functions"]))
    ]
    statements += [f"CREATE VIEW public.v_{n} AS {view_sql(n, tables)}" for n in range(counts["views"])]
    for n in range(counts["triggers"]):
        _table, definition = trigger_sql(n, counts["functions"])
        statements.append(f"CREATE TRIGGER trg_{n} {definition}")
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        for statement in statements:
            await connection.exec_driver_sql(statement)
    await engine.dispose()


def measure(mode: str, url: str, counts: dict[str, int], env: dict[str, str]) -> tuple[float, int]:
    script = PROBE.format(bench=str(Path(__file__).parent))
    result = subprocess.run(
        [sys.executable, "-c", script, mode, url, json.dumps(counts)], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{result.stdout[-1500:]}{result.stderr[-3000:]}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return float(answer["seconds"]), int(answer["diffs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=150)
    parser.add_argument("--views", type=int, default=50)
    parser.add_argument("--functions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg-url", default=os.environ.get("ASYNCMIGRATE_TEST_PG_URL"))
    options = parser.parse_args()
    if not options.pg_url:
        raise SystemExit("PostgreSQL only: give --pg-url or set ASYNCMIGRATE_TEST_PG_URL")
    counts = sizes(options.triggers, options.views, options.functions)
    url = create_pg_database(options.pg_url)
    asyncio.run(create_objects(url, counts))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    modes = ("asyncmigrate", "alembic-utils", "floor")
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    diffs: dict[str, int] = {}
    for round_number in range(options.rounds + 1):
        for mode in modes:
            seconds, found = measure(mode, url, counts, env)
            diffs[mode] = found
            if round_number:  # the first round is the warm-up
                times[mode].append(seconds)
    print(
        f"{counts['triggers']} triggers, {counts['views']} views, {counts['functions']} functions,"
        f" unchanged; {options.rounds} rounds after a warm-up, interleaved; seconds of one comparison"
    )
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    for mode in modes:
        values = times[mode]
        print(
            f"  {mode:14s} {medians[mode]:8.3f} (min {min(values):8.3f}, max {max(values):8.3f})"
            f"  operations found: {diffs[mode]}"
        )
    ours = medians["asyncmigrate"]
    print(
        f"  alembic-utils / asyncmigrate {medians['alembic-utils'] / ours:.1f}x;"
        f" asyncmigrate - floor {ours - medians['floor']:.3f} s;"
        f" alembic-utils - floor {medians['alembic-utils'] - medians['floor']:.3f} s"
    )


if __name__ == "__main__":
    main()
