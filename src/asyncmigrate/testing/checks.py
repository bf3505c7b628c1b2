"""The harness's checks as coroutines over a Migrator on an empty, throwaway database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from alembic.util.pyfiles import load_module_py

from ..api.migrator import CheckResult, Migrator
from ..errors import AsyncMigrateError
from .snapshot import diff_snapshots, take_snapshot
from .stairway import StairwayReport, run_foreign_stairway, run_stairway

REQUIRED_ATTRIBUTES = ("revision", "down_revision", "upgrade", "downgrade")


@dataclass
class CheckReport:
    """The outcome of one check: ok, or the problems it found (one line each)."""

    name: str
    problems: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


async def ensure_empty(migrator: Migrator) -> None:
    snapshot = await migrator.run_sync(take_snapshot)
    if snapshot["tables"] or await migrator.current():
        raise AsyncMigrateError("the migration tests need an empty database")


async def stairway(
    migrator: Migrator,
    *,
    from_models: bool = False,
    minimum_downgrade_revision: str | None = None,
    base_models: str | None = None,
) -> StairwayReport:
    """Per-revision upgrade / downgrade / upgrade with schema comparison (see stairway.py).

    ``from_models``: start at head from the models (``create_all`` and ``stamp heads``) and walk
    down, for a history that does not build from an empty database. ``minimum_downgrade_revision``:
    that revision's downgrade and those below it are not tested. ``base_models``
    ("pkg.module:Base.metadata"): tables made with ``create_all`` before the first revision."""
    await ensure_empty(migrator)
    if not migrator.runner.own_env:
        return await run_foreign_stairway(
            migrator.runner,
            from_models=from_models,
            minimum=minimum_downgrade_revision,
            base_models=base_models,
        )
    return await migrator.run_sync(
        lambda connection: run_stairway(
            migrator.runner,
            connection,
            from_models=from_models,
            minimum=minimum_downgrade_revision,
            base_models=base_models,
        )
    )


async def models_match_migrations(migrator: Migrator) -> CheckReport:
    """Upgrade an empty database to head: autogenerate must then find nothing to write."""
    await ensure_empty(migrator)
    await migrator.upgrade("heads", record_history=False)
    result: CheckResult = await migrator.check()
    problems = (
        [f"the models differ from the migrations ({len(result.diffs)} changes)"] if result.diffs else []
    )
    return CheckReport("models match migrations", problems, result.upgrade_code)


async def single_head(migrator: Migrator) -> CheckReport:
    return CheckReport("single head", [p.message for p in await migrator.check_heads()])


async def downgrade_leaves_no_trace(migrator: Migrator) -> CheckReport:
    """Upgrade to head and downgrade to base: the schema must equal the empty database's."""
    await ensure_empty(migrator)
    empty = await migrator.run_sync(take_snapshot)
    await migrator.upgrade("heads", record_history=False)
    try:
        await migrator.downgrade("base", record_history=False)
    except Exception as exc:
        return CheckReport("downgrade to base leaves no trace", [f"downgrade to base failed: {exc}"])
    left = diff_snapshots(empty, await migrator.run_sync(take_snapshot))
    return CheckReport("downgrade to base leaves no trace", left)


def revisions_import(migrator: Migrator) -> CheckReport:
    """Every revision file imports on its own and has the attributes Alembic needs."""
    problems = []
    for path in sorted(Path(migrator.settings.script_location, "versions").rglob("*.py")):
        if path.name == "__init__.py":
            continue
        try:
            module = load_module_py(f"asyncmigrate_check_{uuid.uuid4().hex}", path)
        except Exception as exc:
            problems.append(f"{path.name}: does not import: {type(exc).__name__}: {exc}")
            continue
        missing = [name for name in REQUIRED_ATTRIBUTES if not hasattr(module, name)]
        if missing:
            problems.append(f"{path.name}: missing {', '.join(missing)}")
    return CheckReport("revision files import", problems)
