"""The corpus: published packages that ship an Alembic history, pinned by exact version.

Each entry says where the history sits in the wheel, how its revisions and env.py get their
imports (the package is installed, with its dependencies, into a venv of its own under the
corpus cache), which env.py runs (the project's own, or Alembic's stock one with the project's
metadata) and how its env.py finds the database URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Project:
    name: str
    #: the distribution on the package index and its exact version
    dist: str
    version: str
    #: the migrations directory inside the wheel (Alembic's script_location)
    script_location: str
    #: the project's alembic.ini inside the wheel, used with its script_location and URL replaced;
    #: None: a minimal ini is written
    ini: str | None = None
    #: "own": the project's env.py as shipped; "stock": Alembic's generic env.py with ``metadata``
    env: str = "own"
    #: "module:attribute" of the MetaData the stock env.py compares against (None: no models)
    metadata: str | None = None
    #: how the URL reaches the env.py: "ini" (sqlalchemy.url in the ini)
    url_via: str = "ini"
    #: what else the venv needs besides the distribution (or instead of its dependencies)
    requirements: tuple[str, ...] = ()
    #: install the distribution without its dependencies (then ``requirements`` lists what the
    #: revisions and env.py really import)
    no_deps: bool = False
    #: the databases the project supports
    dialects: tuple[str, ...] = ("sqlite", "postgresql")
    #: in the default subset that the normal suite runs
    default: bool = False
    #: extra ini lines in the [alembic] section
    ini_extra: dict[str, str] = field(default_factory=dict)
    #: "module:attribute" of a MetaData: the project makes a new database with create_all and
    #: stamps it at head (its first revision expects those tables), so the corpus starts there too
    create_all: str | None = None
    #: after create_all: "stamp" head (the tables are the current ones) or "none" (they are the
    #: first revision's starting point and ``upgrade head`` runs the whole history on them)
    after_create_all: str = "stamp"
    #: seconds before one command counts as hung (default: ASYNCMIGRATE_CORPUS_TIMEOUT or 900)
    timeout: float | None = None


PROJECTS: list[Project] = [
    Project(
        name="optuna",
        dist="optuna",
        version="5.1.0",
        script_location="optuna/storages/_rdb/alembic",
        ini="optuna/storages/_rdb/alembic.ini",
        default=True,
    ),
    Project(
        name="jupyterhub",
        dist="jupyterhub",
        version="6.1.1",
        script_location="jupyterhub/alembic",
        ini="jupyterhub/alembic.ini",
        create_all="jupyterhub.orm:Base.metadata",
    ),
    Project(
        name="nbgrader",
        dist="nbgrader",
        version="0.9.6",
        script_location="nbgrader/alembic",
        ini="nbgrader/alembic.ini",
        create_all="nbgrader.api:Base.metadata",
    ),
    Project(
        name="buildbot",
        dist="buildbot",
        version="4.3.0",
        script_location="buildbot/db/migrations",
        ini="buildbot/db/migrations/alembic.ini",
        create_all="buildbot.db.model:Model.metadata",
        default=True,
        ini_extra={"version_locations": "%(here)s/migrations/versions"},
    ),
    Project(
        name="mlflow",
        dist="mlflow-skinny",
        version="3.18.0",
        script_location="mlflow/store/db_migrations",
        ini="mlflow/store/db_migrations/alembic.ini",
        # as mlflow makes a new database: its initial tables, then the whole history on top
        create_all="mlflow.store.tracking.dbmodels.initial_models:Base.metadata",
        after_create_all="none",
    ),
    Project(
        name="cinder",
        dist="cinder",
        version="29.0.0",
        script_location="cinder/db/migrations",
        ini="cinder/db/alembic.ini",
        # its env.py imports eventlet, which leaves the thread that ran it unable to end (it hung
        # asyncmigrate's exit once): a hang is reported after 5 minutes rather than 15
        timeout=300,
    ),
    Project(
        # its env.py takes the engine from oslo.config's [database] settings: Alembic's stock
        # env.py, with no models (a few revisions import ironic.conf: the whole service installed)
        name="ironic",
        dist="ironic",
        version="39.0.0",
        script_location="ironic/db/sqlalchemy/alembic",
        ini="ironic/db/sqlalchemy/alembic.ini",
        env="stock",
    ),
    Project(
        # its env.py exits unless run by octavia-db-manage: Alembic's stock env.py, no models
        name="octavia",
        dist="octavia",
        version="19.0.0",
        script_location="octavia/db/migration/alembic_migrations",
        ini="octavia/db/migration/alembic.ini",
        env="stock",
        no_deps=True,
        requirements=("octavia-lib", "oslo.utils", "oslo.log"),
    ),
    Project(
        # its env.py takes the engine from manila's oslo.db API: Alembic's stock env.py, no models
        name="manila",
        dist="manila",
        version="23.0.1",
        script_location="manila/db/migrations/alembic",
        ini="manila/db/migrations/alembic.ini",
        env="stock",
        no_deps=True,
        requirements=("oslo.log", "oslo.utils", "oslo.db", "oslo.i18n", "oslo.config"),
    ),
]

# Left out: zenml 0.98.0 (its SQL store's extra pins alembic below 1.18, which asyncmigrate
# needs), dagster (its env.py refuses to run without a connection its own code passes in),
# apache-airflow-providers-fab and glance (their env.py needs the whole service configured).

BY_NAME = {project.name: project for project in PROJECTS}


#: Cells that fail in asyncmigrate only, by (project, dialect or "*", command): the test is an
#: xfail with this reason until the fix lands (then it passes).
@dataclass(frozen=True)
class Known:
    """A cell that fails in asyncmigrate only: an xfail with ``reason`` while the cell's detail
    contains ``signature`` (any other failure of the cell still fails the test)."""

    project: str  # a name, or "*"
    dialect: str  # "sqlite", "postgresql", or "*"
    command: str
    signature: str
    reason: str


KNOWN_FAILURES: list[Known] = [
    Known(
        "*",
        "sqlite",
        "test stairway",
        "the test harness needs the env.py written by 'asyncmigrate init'",
        "issue 13 item 1: `test stairway` refuses an env.py that 'asyncmigrate init' did not write",
    ),
    Known(
        "*",
        "postgresql",
        "test stairway",
        "object NoneType can't be used in 'await' expression",
        "testing/scratch.py _admin() awaits Engine.dispose() of the sync engine that a "
        "postgresql+psycopg2 URL makes",
    ),
    Known(
        "*",
        "postgresql",
        "lint",
        "The loaded 'psycopg2' is not async",
        "issue 13 item 1: lint on a sync-driver URL ('psycopg2' is not async)",
    ),
    Known(
        "*",
        "*",
        "current",
        "asyncmigrate adds 'base (no revision applied)'",
        "issue 13 item 3: `current` on a database with no alembic_version table prints "
        "'base (no revision applied)' where Alembic prints nothing",
    ),
]


def known_failure(project: str, dialect: str, command: str, detail: str) -> str | None:
    """The reason a failing cell is expected to fail, or None."""
    for known in KNOWN_FAILURES:
        if (
            known.project in ("*", project)
            and known.dialect in ("*", dialect)
            and known.command == command
            and known.signature in detail
        ):
            return known.reason
    return None


@dataclass(frozen=True)
class KnownDifference:
    """Where ``asyncmigrate check`` may report other differences than plain Alembic's ``check`` on
    this project and database. With ``alembic`` (a piece of Alembic's "New upgrade operations
    detected" line that shows it): a false difference, the database and the models agree, and
    asyncmigrate may leave it out. Without: a true one Alembic does not see, and asyncmigrate may
    report it. ``ours``: a piece of asyncmigrate's output that shows it; ``operations``: how many
    changes it counts as (an index written as removed and added again is two)."""

    project: str
    dialect: str
    alembic: str
    ours: str
    operations: int
    reason: str


KNOWN_DIFFERENCES: list[KnownDifference] = [
    KnownDifference(
        "nbgrader",
        "postgresql",
        "('add_constraint', UniqueConstraint(Column('id', NullType(), table=<course>)))",
        "create_unique_constraint(None, 'course', ['id'])",
        1,
        "false: course.id is unique=True and the primary key, PostgreSQL keeps no UNIQUE of its own",
    ),
    KnownDifference(
        "cinder",
        "postgresql",
        "('modify_nullable', None, 'encryption', 'encryption_id',",
        "alter_column('encryption', 'encryption_id',",
        1,
        "false: encryption.encryption_id is primary_key=True, nullable=True; a key column is NOT NULL",
    ),
    KnownDifference(
        "mlflow",
        "sqlite",
        "Index('idx_mcp_server_versions_latest'",
        "'idx_mcp_server_versions_latest'",
        2,
        "false: the index's DESC columns, which SQLite's reflection drops",
    ),
    KnownDifference(
        "optuna",
        "postgresql",
        "",
        "ALTER TYPE trialstate ADD VALUE IF NOT EXISTS 'WAITING'",
        1,
        "true: v1.2.0.a alters trials.state to a trialstate with WAITING, PostgreSQL's type keeps 4 values",
    ),
]


def known_differences(project: str, dialect: str) -> list[KnownDifference]:
    """Where asyncmigrate's ``check`` may differ from Alembic's on this project and database."""
    return [
        known
        for known in KNOWN_DIFFERENCES
        if known.project in ("*", project) and known.dialect in ("*", dialect)
    ]
