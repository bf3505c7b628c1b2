"""The migration test harness: schema snapshots, the stairway, drift and no-trace checks, and a
pytest plugin (registered through the ``pytest11`` entry point)."""

from .checks import (
    CheckReport,
    downgrade_leaves_no_trace,
    models_match_migrations,
    revisions_import,
    single_head,
    stairway,
)
from .snapshot import diff_snapshots, take_snapshot
from .stairway import RevisionResult, StairwayReport

__all__ = [
    "CheckReport",
    "RevisionResult",
    "StairwayReport",
    "diff_snapshots",
    "downgrade_leaves_no_trace",
    "models_match_migrations",
    "revisions_import",
    "single_head",
    "stairway",
    "take_snapshot",
]
