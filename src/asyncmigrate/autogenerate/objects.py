"""Views, materialized views, functions, triggers and row-level-security policies declared beside
the models, written by autogenerate as SQL (PostgreSQL).

Alembic compares tables only. A models module declares the other objects as SQL text, attached to
its ``MetaData`` so that autogenerate finds them with no change to env.py::

    declare(
        Base.metadata,
        Function("touch()", "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ... END $$"),
        View("active_users", "SELECT id, name FROM users WHERE active"),
        View("user_stats", "SELECT count(*) AS n FROM active_users", materialized=True),
        Trigger("users_touch", on="users",
                definition="BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()"),
        Policy("own_rows", on="notes", definition="FOR SELECT USING (owner = current_user)"),
        View("old_report", None),  # declared dropped
    )

How they are compared: the database's own text of each (``pg_get_viewdef``,
``pg_get_functiondef``, ``pg_get_triggerdef``, ``pg_policies``) is read in one query; the
declared objects are created all at once in one savepoint (functions, then views in the order
their names mention each other, then triggers and policies), read back with the same query, and
the savepoint rolled back. Both sides are then the server's normalised text, so a declaration
written differently from what the server prints is not a change.

What is written: ``op.execute`` of plain SQL, with the exact inverse in ``downgrade()`` (old
definitions from the catalog). A function, a view whose columns stay the same and (PostgreSQL 14)
a trigger are ``CREATE OR REPLACE``-d; a view whose columns change, a materialized view and a
policy are dropped and created, and views depending on a dropped view (declared or not) are dropped
before it and created again after, from their catalog text.

Which objects are dropped: only those declared dropped (``definition=None``). An object in the
database that is not declared is left alone.
"""

from __future__ import annotations

import dataclasses
import graphlib
import logging
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from alembic.autogenerate import renderers
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import MetaData, text
from sqlalchemy.exc import SAWarning

from ..errors import ConfigError

__all__ = [
    "DECLARED",
    "PLUGIN_NAME",
    "Function",
    "ObjectStep",
    "Policy",
    "Trigger",
    "View",
    "declare",
    "declared_objects",
]

log = logging.getLogger(__name__)

PLUGIN_NAME = "asyncmigrate.declared_objects"
#: The key of ``MetaData.info`` that holds the declared objects.
DECLARED = "asyncmigrate.objects"
#: What a function declared in the savepoint is marked with (its comment), to find its identity.
_MARK = "asyncmigrate declared "


@dataclasses.dataclass(frozen=True)
class View:
    """A view (or, ``materialized=True``, a materialized view): ``definition`` is its query, the
    text after ``AS``; ``None`` declares it dropped."""

    name: str
    definition: str | None
    schema: str | None = None
    materialized: bool = False
    with_data: bool = True


@dataclasses.dataclass(frozen=True)
class Function:
    """A function: ``signature`` as ``name(arg type, ...)``, ``definition`` what follows it in
    ``CREATE FUNCTION`` (``RETURNS ... LANGUAGE ... AS $$...$$``); ``None`` declares it dropped."""

    signature: str
    definition: str | None
    schema: str | None = None

    @property
    def name(self) -> str:
        return self.signature.split("(", 1)[0].strip()


@dataclasses.dataclass(frozen=True)
class Trigger:
    """A trigger on table ``on`` (``"table"`` or ``"schema.table"``): ``definition`` is what follows
    its name in ``CREATE TRIGGER`` (``BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()``);
    ``None`` declares it dropped."""

    name: str
    on: str
    definition: str | None


@dataclasses.dataclass(frozen=True)
class Policy:
    """A row-level-security policy on table ``on``: ``definition`` is what follows ``ON table`` in
    ``CREATE POLICY`` (``FOR SELECT TO app USING (...)``); ``None`` declares it dropped. Row-level
    security itself is the table's to enable (``ALTER TABLE ... ENABLE ROW LEVEL SECURITY``)."""

    name: str
    on: str
    definition: str | None


Declared = View | Function | Trigger | Policy


def declare(metadata: MetaData, *objects: Declared) -> None:
    """Attach ``objects`` to ``metadata`` (its ``info``): autogenerate compares them with the
    database wherever that metadata is the target. Declaring one twice is a mistake."""
    known: list[Declared] = metadata.info.setdefault(DECLARED, [])
    for obj in objects:
        if not isinstance(obj, View | Function | Trigger | Policy):
            raise ConfigError(f"declare(): {obj!r} is not a View, Function, Trigger or Policy")
        known.append(obj)


def declared_objects(metadata: MetaData | Sequence[MetaData] | None) -> list[Declared]:
    """Every object declared on ``metadata`` (one or a list, as Alembic's ``target_metadata``)."""
    if metadata is None:
        return []
    all_metadata = [metadata] if isinstance(metadata, MetaData) else list(metadata)
    return [obj for each in all_metadata for obj in each.info.get(DECLARED, [])]


# -- the catalog -----------------------------------------------------------------------------

#: One read of every object of the given keys ("schema.name" of views and functions, "schema.table"
#: of triggers and policies): kind, schema, table, name, identity, definition, detail.
_CATALOG = """
SELECT CASE c.relkind WHEN 'm' THEN 'matview' ELSE 'view' END, n.nspname, '', c.relname, '',
       pg_get_viewdef(c.oid),
       CASE WHEN c.relispopulated THEN 'data ' ELSE 'nodata ' END || coalesce((
           SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                             ORDER BY a.attnum)
           FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname || '.' || c.relname = ANY(:views)
UNION ALL
SELECT 'function', n.nspname, '', p.proname, pg_get_function_identity_arguments(p.oid),
       pg_get_functiondef(p.oid),
       coalesce(obj_description(p.oid, 'pg_proc'), '') || '|' || oidvectortypes(p.proargtypes)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p') AND n.nspname || '.' || p.proname = ANY(:functions)
UNION ALL
SELECT 'trigger', n.nspname, c.relname, t.tgname, '', pg_get_triggerdef(t.oid), ''
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND n.nspname || '.' || c.relname = ANY(:tables)
UNION ALL
SELECT 'policy', p.schemaname, p.tablename, p.policyname, '',
       concat_ws(' ', 'AS ' || p.permissive, 'FOR ' || p.cmd, 'TO ' || array_to_string(p.roles, ', '),
                 'USING (' || p.qual || ')', 'WITH CHECK (' || p.with_check || ')'), ''
FROM pg_policies p WHERE p.schemaname || '.' || p.tablename = ANY(:tables)
"""

#: Views and materialized views depending on the given ones, transitively (rules of pg_rewrite),
#: each with its longest distance from them: drop the farthest first, create the nearest first.
_DEPENDANTS = """
WITH RECURSIVE roots AS (
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname || '.' || c.relname = ANY(:views)
), deps(oid, depth) AS (
    SELECT DISTINCT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid IN (SELECT oid FROM roots)
      AND r.ev_class <> d.refobjid
    UNION
    SELECT r.ev_class, deps.depth + 1 FROM deps JOIN pg_depend d ON d.refobjid = deps.oid
    JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class <> d.refobjid
)
SELECT CASE c.relkind WHEN 'm' THEN 'matview' ELSE 'view' END, n.nspname, c.relname,
       pg_get_viewdef(c.oid), c.relispopulated, max(deps.depth)
FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace
GROUP BY c.oid, c.relkind, n.nspname, c.relname
ORDER BY max(deps.depth)
"""


@dataclasses.dataclass(frozen=True)
class _Row:
    kind: str
    schema: str
    table: str
    name: str
    identity: str
    definition: str
    detail: str

    @property
    def key(self) -> tuple[str, ...]:
        kind = "view" if self.kind == "matview" else self.kind
        return (kind, self.schema, self.table, self.name, self.identity)


def _quote(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


def _qualified(schema: str, name: str) -> str:
    return f"{_quote(schema)}.{_quote(name)}"


def _split(on: str, default: str) -> tuple[str, str]:
    schema, _, table = on.rpartition(".")
    return (schema.strip('"') or default, table.strip('"'))


def _normal_args(args: str) -> str:
    return re.sub(r"\s+", " ", args.strip().lower())


class _Object:
    """One declared object with its place in the database: its key, and its SQL."""

    def __init__(self, obj: Declared, default_schema: str) -> None:
        self.obj = obj
        if isinstance(obj, Trigger | Policy):
            self.schema, self.table = _split(obj.on, default_schema)
        else:
            self.schema, self.table = obj.schema or default_schema, ""
        self.kind = type(obj).__name__.lower()
        self.identity = ""  # a function's arguments, as the server spells them (found later)

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def key(self) -> tuple[str, ...]:
        return (self.kind, self.schema, self.table, self.name, self.identity)

    @property
    def dropped(self) -> bool:
        return self.obj.definition is None

    @property
    def label(self) -> str:
        obj = self.obj
        if isinstance(obj, View):
            what = "materialized view" if obj.materialized else "view"
            return f"{what} {self.schema}.{obj.name}"
        if isinstance(obj, Function):
            return f"function {self.schema}.{obj.signature}"
        return f"{self.kind} {obj.name} on {self.schema}.{self.table}"

    def create(self, data: bool | None = None) -> str:
        obj = self.obj
        if isinstance(obj, View):
            where = _qualified(self.schema, obj.name)
            if obj.materialized:
                with_data = obj.with_data if data is None else data
                return (
                    f"CREATE MATERIALIZED VIEW {where} AS {_body(obj.definition)}"
                    f" WITH {'' if with_data else 'NO '}DATA"
                )
            return f"CREATE OR REPLACE VIEW {where} AS {_body(obj.definition)}"
        if isinstance(obj, Function):
            return f"CREATE OR REPLACE FUNCTION {_quote(self.schema)}.{obj.signature} {obj.definition}"
        if isinstance(obj, Trigger):
            return f"CREATE TRIGGER {_quote(obj.name)} {obj.definition}"
        return f"CREATE POLICY {_quote(obj.name)} ON {_qualified(self.schema, self.table)} {obj.definition}"


def _body(definition: str | None) -> str:
    return (definition or "").strip().rstrip(";").strip()


def _drop_sql(
    kind: str, schema: str, table: str, name: str, identity: str = "", if_exists: bool = False
) -> str:
    """The drop of one object; with ``if_exists`` (the savepoint's), CASCADE too."""
    exists, cascade = (" IF EXISTS", " CASCADE") if if_exists else ("", "")
    if kind == "view":
        return f"DROP VIEW{exists} {_qualified(schema, name)}{cascade}"
    if kind == "matview":
        return f"DROP MATERIALIZED VIEW{exists} {_qualified(schema, name)}{cascade}"
    if kind == "function":
        return f"DROP FUNCTION{exists} {_qualified(schema, name)}({identity}){cascade}"
    what = "TRIGGER" if kind == "trigger" else "POLICY"
    return f"DROP {what}{exists} {_quote(name)} ON {_qualified(schema, table)}"


def _create_sql(row: _Row) -> str:
    """An object again as the catalog has it (the downgrade's, or a dependant's re-creation)."""
    where = _qualified(row.schema, row.name)
    if row.kind == "view":
        return f"CREATE OR REPLACE VIEW {where} AS {_body(row.definition)}"
    if row.kind == "matview":
        data = "" if row.detail.startswith("data") else "NO "
        return f"CREATE MATERIALIZED VIEW {where} AS {_body(row.definition)} WITH {data}DATA"
    if row.kind == "policy":
        return f"CREATE POLICY {_quote(row.name)} ON {_qualified(row.schema, row.table)} {row.definition}"
    return row.definition.strip()  # pg_get_functiondef / pg_get_triggerdef: complete statements


def _columns(row: _Row) -> str:
    """A view's columns (name and type), the same text for every other object."""
    return row.detail.partition(" ")[2] if row.kind in ("view", "matview") else ""


def _read(connection: Any, objects: Iterable[_Object]) -> list[_Row]:
    views: set[str] = set()
    functions: set[str] = set()
    tables: set[str] = set()
    for each in objects:
        if each.kind == "view":
            views.add(f"{each.schema}.{each.name}")
        elif each.kind == "function":
            functions.add(f"{each.schema}.{each.name}")
        else:
            tables.add(f"{each.schema}.{each.table}")
    result = connection.execute(
        text(_CATALOG), {"views": sorted(views), "functions": sorted(functions), "tables": sorted(tables)}
    )
    return [_Row(*(str(value) for value in row)) for row in result]


def _mentions(definition: str, names: Iterable[str]) -> set[str]:
    return {name for name in names if re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", definition)}


def _view_order(views: dict[str, str]) -> list[str]:
    """Keys of ``views`` (key -> definition; a key ends in the view's name) ordered so that a view
    comes after those whose names its definition mentions (a cycle of mere mentions: as given)."""
    names = {key: key.rpartition(".")[2] for key in views}
    graph = {
        key: {other for other in views if other != key and _mentions(views[key], [names[other]])}
        for key in views
    }
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        return list(views)


def _execute(connection: Any, sql: str) -> None:
    connection.exec_driver_sql(sql, execution_options={"no_parameters": True})


def _tables_as_upgraded(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> None:
    """Alembic's own steps of this revision (the tables), run in the caller's savepoint: the
    declared objects read the tables as the upgrade leaves them. Should one fail there, the
    models' missing tables are created instead."""
    from alembic.operations import Operations

    def flat(container: ops.OpContainer) -> Iterable[ops.MigrateOperation]:
        for op in container.ops:
            yield from flat(op) if isinstance(op, ops.OpContainer) else [op]

    connection = autogen_context.connection
    inner = connection.begin_nested()
    try:
        operations = Operations(autogen_context.migration_context)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # said once, when the revision runs
            for op in flat(upgrade_ops):
                operations.invoke(op)
    except Exception as exc:  # noqa: BLE001  (the fallback below; the revision is judged elsewhere)
        inner.rollback()
        log.debug("The revision's table steps do not run here (%s): the missing tables are created", exc)
        metadata = autogen_context.metadata
        for each in [metadata] if isinstance(metadata, MetaData) else list(metadata or []):
            for table in each.sorted_tables:
                # One at a time: a table that cannot be made here (a schema or type the revision
                # makes by hand) leaves the others; a declaration reading it then says so.
                attempt = connection.begin_nested()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", SAWarning)
                        table.create(connection, checkfirst=True)
                except Exception as error:  # noqa: BLE001
                    attempt.rollback()
                    log.debug("Table %s not made for the comparison: %s", table.name, error)
                else:
                    attempt.commit()
    else:
        inner.commit()


def _normalised(
    autogen_context: Any, upgrade_ops: ops.UpgradeOps, objects: list[_Object], existing: list[_Row]
) -> list[_Row]:
    """The declared objects as the server prints them: all created in one savepoint (the existing
    ones of their names dropped, then the revision's table steps run), read back in one query,
    rolled back."""
    connection = autogen_context.connection
    live = [each for each in objects if not each.dropped]
    savepoint = connection.begin_nested()
    try:
        functions = [each for each in live if each.kind == "function"]
        views = {f"{each.schema}.{each.name}": each for each in live if each.kind == "view"}
        # Views nobody declares that read a declared one go with its drop (CASCADE): they come
        # back, as the catalog has them, for the declared views that read them in turn.
        declared_views = {f"{each.schema}.{each.name}" for each in objects if each.kind == "view"}
        around = _undeclared_dependants(connection, existing, declared_views)
        texts = {key: _body(each.obj.definition) for key, each in views.items()}
        texts.update({key: _body(row.definition) for key, row in around.items()})
        others = [each for each in live if each.kind in ("trigger", "policy")]
        # The existing ones go before the revision's table steps, which may drop what they read
        # (IF EXISTS: a CASCADE before may have taken one).
        drops: list[tuple[str, str | None]] = [("SET LOCAL check_function_bodies = off", None)]
        _run_all(connection, drops + [(_drop_row(row, if_exists=True), None) for row in existing])
        _tables_as_upgraded(autogen_context, upgrade_ops)
        steps: list[tuple[str, str | None]] = []
        for number, each in enumerate(functions):
            signature = f"{_quote(each.schema)}.{_without_defaults(each.obj.signature)}"  # type: ignore[union-attr]
            steps += [
                (each.create(False), _fails(each)),
                (f"COMMENT ON FUNCTION {signature} IS '{_MARK}{number}'", _fails(each)),
            ]
        for key in _view_order(texts):
            if key in views:
                steps.append((views[key].create(False), _fails(views[key])))
            else:
                row = around[key]
                again = f"{_view_label(row)} (not declared, reads a declared view) does not create again"
                steps.append((_create_sql(dataclasses.replace(row, detail="nodata ")), again))
        steps += [(each.create(False), _fails(each)) for each in others]
        _run_all(connection, steps)
        rows = _read(connection, live)
    finally:
        savepoint.rollback()
    marks = {f"{_MARK}{number}": each for number, each in enumerate(functions)}
    for row in rows:
        if row.kind == "function":
            owner = marks.get(row.detail.partition("|")[0])
            if owner is not None:
                owner.identity = row.identity
    return [row for row in rows if row.kind != "function" or row.detail.partition("|")[0] in marks]


def _without_defaults(signature: str) -> str:
    """A signature as COMMENT ON FUNCTION takes it: no ``DEFAULT ...`` / ``= ...`` of an argument."""
    return re.sub(r"\s+(?:DEFAULT\b|=)[^,)]*", "", signature, flags=re.I)


def _fails(each: _Object) -> str:
    return f"declared {each.label} does not create"


def _undeclared_dependants(connection: Any, existing: list[_Row], declared: set[str]) -> dict[str, _Row]:
    keys = [f"{row.schema}.{row.name}" for row in existing if row.kind in ("view", "matview")]
    found: dict[str, _Row] = {}
    if keys:
        for kind, schema, name, definition, _populated, _depth in connection.execute(
            text(_DEPENDANTS), {"views": keys}
        ):
            if f"{schema}.{name}" not in declared:
                found[f"{schema}.{name}"] = _Row(kind, schema, "", name, "", definition, "nodata ")
    return found


def _run_all(connection: Any, steps: list[tuple[str, str | None]]) -> None:
    """All ``steps`` in one round trip (a ``DO`` block); should one fail, again one at a time,
    to name the declaration that does not create."""
    tag = "am"
    while any(f"${tag}$" in sql for sql, _ in steps):
        tag += "x"
    block = "".join(f"EXECUTE ${tag}${sql}${tag}$;\n" for sql, _ in steps)
    attempt = connection.begin_nested()
    try:
        _execute(connection, f"DO $do_{tag}$ BEGIN\n{block}END $do_{tag}$")
    except Exception:  # noqa: BLE001  (said below, by the statement that fails alone)
        attempt.rollback()
    else:
        attempt.commit()
        return
    for sql, failure in steps:
        try:
            _execute(connection, sql)
        except Exception as exc:
            message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            what = failure or f"{sql!r} fails"
            raise ConfigError(f"{what}: {message} (nothing was written)") from exc


# -- the operations --------------------------------------------------------------------------


class ObjectStep(ops.MigrateOperation):
    """One statement on a declared object and the statement that undoes it."""

    def __init__(self, action: str, label: str, upgrade: str, downgrade: str) -> None:
        self.action, self.label, self.upgrade, self.downgrade = action, label, upgrade, downgrade

    def reverse(self) -> ObjectStep:
        undo = {"create": "drop", "drop": "create"}.get(self.action, self.action)
        return ObjectStep(undo, self.label, self.downgrade, self.upgrade)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return (f"{self.action}_object", self.label)


#: What SQLAlchemy's ``text()`` would take for a bound parameter (``:name``).
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@renderers.dispatch_for(ObjectStep)
def _render_step(autogen_context: Any, op: ObjectStep) -> list[str]:
    """One line, the SQL a single literal: Alembic indents every line of what it renders, the
    lines inside a multi-line string too (a function's body would change)."""
    prefix = autogen_context.opts.get("alembic_module_prefix") or "op."
    if not op.upgrade:  # an index that goes with its materialized view, dropped next
        return [f"# {op.action} {op.label}: with its materialized view"]
    sql = _BIND.sub(r"\\:\1", op.upgrade)
    return [f"# {op.action} {op.label}", f"{prefix}execute({sql!r})"]


# -- the comparison --------------------------------------------------------------------------


def _plan(
    autogen_context: Any, upgrade_ops: ops.UpgradeOps, objects: list[_Object]
) -> tuple[list[ObjectStep], list[ObjectStep]]:
    """The steps before the revision's table changes (drops: a view can hold a column Alembic
    drops) and after them (creations: a view can read a column Alembic adds)."""
    connection = autogen_context.connection
    replaceable_triggers = (connection.dialect.server_version_info or (0,)) >= (14,)
    existing = _read(connection, objects)
    declared = []
    if any(not each.dropped for each in objects):
        declared = _normalised(autogen_context, upgrade_ops, objects, existing)
    now = {row.key: row for row in existing}
    wanted = {row.key: row for row in declared}
    steps_drop: list[ObjectStep] = []  # triggers and policies, before views and functions go
    rebuilt: dict[str, _Object | None] = {}  # view key "schema.name" -> its new declaration, None: gone
    replaced_views: dict[str, tuple[_Object, _Row]] = {}
    functions: list[ObjectStep] = []
    dropped_functions: list[ObjectStep] = []
    later: list[ObjectStep] = []  # triggers and policies created
    for each in objects:
        if each.dropped:
            for row in _dropped_rows(each, existing):
                if row.kind in ("view", "matview"):
                    rebuilt[f"{row.schema}.{row.name}"] = None
                elif row.kind == "function":
                    dropped_functions.append(ObjectStep("drop", each.label, _drop_row(row), _create_sql(row)))
                else:
                    steps_drop.append(ObjectStep("drop", each.label, _drop_row(row), _create_sql(row)))
            continue
        new = wanted.get(each.key)
        old = now.get(each.key)
        if new is None:
            raise ConfigError(f"declared {each.label} was not found after creating it (nothing was written)")
        drop = _drop_sql(new.kind, new.schema, new.table, new.name, new.identity)
        if old is None:
            if each.kind == "view":
                rebuilt[f"{each.schema}.{each.name}"] = each
            elif each.kind == "function":
                functions.append(ObjectStep("create", each.label, each.create(), drop))
            else:
                later.append(ObjectStep("create", each.label, each.create(), drop))
            continue
        if old.definition == new.definition and old.kind == new.kind and _columns(old) == _columns(new):
            continue
        if each.kind == "function" and _function_header(old) != _function_header(new):
            # CREATE OR REPLACE refuses a changed result or parameter names: dropped, created again
            dropped_functions.append(ObjectStep("drop", each.label, _drop_row(old), _create_sql(old)))
            functions.append(ObjectStep("create", each.label, each.create(), drop))
        elif each.kind == "function":
            functions.append(ObjectStep("replace", each.label, each.create(), _create_sql(old)))
        elif each.kind == "view" and old.kind == new.kind == "view" and _columns(old) == _columns(new):
            replaced_views[f"{each.schema}.{each.name}"] = (each, old)
        elif each.kind == "view":
            rebuilt[f"{each.schema}.{each.name}"] = each
        elif each.kind == "trigger" and replaceable_triggers and _plain_trigger(old) and _plain_trigger(new):
            # CREATE OR REPLACE TRIGGER (PostgreSQL 14): SHARE ROW EXCLUSIVE, where DROP TRIGGER
            # takes ACCESS EXCLUSIVE on the table.
            upgrade = _or_replace(each.create())
            later.append(ObjectStep("replace", each.label, upgrade, _or_replace(_create_sql(old))))
        else:
            old_drop = _drop_row(old)
            steps_drop.append(ObjectStep("drop", each.label, old_drop, _create_sql(old)))
            later.append(ObjectStep("create", each.label, each.create(), drop))
    views_down, views_up = _views(connection, existing, rebuilt, replaced_views, wanted)
    return [*steps_drop, *views_down, *dropped_functions], [*functions, *views_up, *later]


def _function_header(row: _Row) -> tuple[str, str]:
    """What ``CREATE OR REPLACE FUNCTION`` cannot change: the parameters (names, defaults) on the
    first line of ``pg_get_functiondef``'s text, and its ``RETURNS`` line."""
    lines = row.definition.strip().splitlines()
    result = next((line.strip() for line in lines[1:] if line.startswith(" RETURNS ")), "")
    return (lines[0] if lines else "", result)


def _plain_trigger(row: _Row) -> bool:
    """Not a constraint trigger (those cannot be replaced)."""
    return row.definition.lstrip().upper().startswith("CREATE TRIGGER")


def _or_replace(create_trigger: str) -> str:
    return re.sub(r"^\s*CREATE\s+TRIGGER\b", "CREATE OR REPLACE TRIGGER", create_trigger, count=1, flags=re.I)


def _drop_row(row: _Row, if_exists: bool = False) -> str:
    return _drop_sql(row.kind, row.schema, row.table, row.name, row.identity, if_exists)


def _dropped_rows(each: _Object, existing: list[_Row]) -> list[_Row]:
    """What a declaration with ``definition=None`` names in the database (a function: the one of
    its name whose arguments are spelled as declared, with or without their names)."""
    found = []
    for row in existing:
        if (row.key[0], row.schema, row.table, row.name) != (each.kind, each.schema, each.table, each.name):
            continue
        if each.kind == "function":
            args = _normal_args(each.obj.signature.partition("(")[2].rpartition(")")[0])  # type: ignore[union-attr]
            if args not in (_normal_args(row.identity), _normal_args(row.detail.partition("|")[2])):
                continue
        found.append(row)
    return found


def _views(
    connection: Any,
    existing: list[_Row],
    rebuilt: dict[str, _Object | None],
    replaced: dict[str, tuple[_Object, _Row]],
    wanted: dict[tuple[str, ...], _Row],
) -> tuple[list[ObjectStep], list[ObjectStep]]:
    """Views dropped (those rebuilt and every view depending on them, farthest first) and created
    or replaced (in the order their definitions mention each other)."""
    current = {f"{row.schema}.{row.name}": row for row in existing if row.kind in ("view", "matview")}
    roots = [key for key in rebuilt if key in current]
    dependants: dict[str, _Row] = {}
    if roots:
        for kind, schema, name, definition, populated, _depth in connection.execute(
            text(_DEPENDANTS), {"views": roots}
        ):
            detail = "data " if populated else "nodata "
            dependants[f"{schema}.{name}"] = _Row(kind, schema, "", name, "", definition, detail)
    dropped = [key for key in roots if rebuilt[key] is None]
    if dropped:
        _refuse_undeclared_dependants(connection, dropped, rebuilt)
    gone = {key: current[key] for key in roots}
    for key, row in dependants.items():
        gone.setdefault(key, row)
    down_order = _view_order({key: _body(row.definition) for key, row in gone.items()})
    indexes = _matview_indexes(connection, [key for key, row in gone.items() if row.kind == "matview"])
    down = []
    for row in (gone[key] for key in reversed(down_order)):
        for index, definition in indexes.get(f"{row.schema}.{row.name}", []):
            # Nothing to run: the view's drop takes it (a DROP INDEX would only lock); the
            # downgrade creates it again after the view.
            down.append(ObjectStep("drop", f"index {row.schema}.{index}", "", definition))
        drop = _drop_sql(row.kind, row.schema, "", row.name)
        down.append(ObjectStep("drop", _view_label(row), drop, _create_sql(row)))
    # What is created: new or rebuilt declarations, dependants again as they were, replacements.
    created: dict[str, tuple[str, str, str, str]] = {}  # key -> action, label, upgrade, downgrade
    texts: dict[str, str] = {}
    for key, each in rebuilt.items():
        if each is None:
            continue
        kind = "matview" if each.obj.materialized else "view"  # type: ignore[union-attr]
        drop = _drop_sql(kind, each.schema, "", each.name)
        created[key] = ("create", each.label, each.create(), drop)
        texts[key] = _body(each.obj.definition)
    for key, row in dependants.items():
        if key in rebuilt:
            continue
        if key in replaced:  # declared and changed: created again as declared
            each = replaced.pop(key)[0]
            created[key] = (
                "create",
                each.label,
                each.create(),
                _drop_sql("view", each.schema, "", each.name),
            )
            texts[key] = _body(each.obj.definition)
            continue
        drop = _drop_sql(row.kind, row.schema, "", row.name)
        created[key] = ("create", _view_label(row), _create_sql(row), drop)
        texts[key] = _body(row.definition)
    for key, (each, old) in replaced.items():
        if key in created:
            continue
        created[key] = ("replace", each.label, each.create(), _create_sql(old))
        texts[key] = _body(each.obj.definition)
    up = []
    for key in _view_order(texts):
        up.append(ObjectStep(*created[key]))
        if key not in indexes:
            continue
        schema, name = key.split(".", 1)
        new = wanted.get(("view", schema, "", name, ""))
        each = rebuilt.get(key)
        if each is not None and (
            new is None or new.kind != "matview" or _columns(new) != _columns(gone[key])
        ):
            log.warning("Indexes of materialized view %s not created again: its columns change", key)
            continue
        for index, definition in indexes[key]:  # its downgrade: nothing, the view's drop takes it
            up.append(ObjectStep("create", f"index {schema}.{index}", definition, ""))
    return down, up


#: The indexes of the given materialized views ("schema.name"), as the catalog spells them.
_MATVIEW_INDEXES = """
SELECT n.nspname || '.' || c.relname, i.relname, pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'm' AND n.nspname || '.' || c.relname = ANY(:views)
ORDER BY i.relname
"""


def _matview_indexes(connection: Any, keys: list[str]) -> dict[str, list[tuple[str, str]]]:
    """A materialized view dropped to be created again loses its indexes: they come back with it
    (when its columns stay the same)."""
    found: dict[str, list[tuple[str, str]]] = {}
    if keys:
        for key, index, definition in connection.execute(text(_MATVIEW_INDEXES), {"views": keys}):
            found.setdefault(key, []).append((index, definition))
    return found


def _refuse_undeclared_dependants(
    connection: Any, dropped: list[str], declared: dict[str, _Object | None]
) -> None:
    """A view declared dropped takes the views reading it along; those nobody declared are not
    dropped silently: the user says so (declares them dropped, or declares their new text)."""
    rows = connection.execute(text(_DEPENDANTS), {"views": dropped}).all()
    left = [f"{schema}.{name}" for _kind, schema, name, *_ in rows if f"{schema}.{name}" not in declared]
    if left:
        raise ConfigError(
            f"{', '.join(dropped)} declared dropped, but {', '.join(left)} (not declared) read"
            " it: declare those dropped too (View(name, None)) or their new definition"
            " (nothing was written)"
        )


def _view_label(row: _Row) -> str:
    what = "materialized view" if row.kind == "matview" else "view"
    return f"{what} {row.schema}.{row.name}"


def _once_each(objects: list[_Object]) -> None:
    """One object declared twice is a mistake to stop at, not to guess which one is meant."""
    seen: set[tuple[str, ...]] = set()
    for each in objects:
        signature = _normal_args(each.obj.signature) if isinstance(each.obj, Function) else ""
        key = (each.kind, each.schema, each.table, each.name, signature)
        if key in seen:
            raise ConfigError(f"{each.label} is declared twice (nothing was written)")
        seen.add(key)


def _compare(autogen_context: Any, upgrade_ops: ops.UpgradeOps) -> PriorityDispatchResult:
    """Runs after Alembic's comparison: the declared objects' drops go before the tables' steps,
    their creations after."""
    objects = declared_objects(autogen_context.metadata)
    connection = autogen_context.connection
    if not objects or connection is None:
        return PriorityDispatchResult.CONTINUE
    from ..dialects import for_backend

    if not for_backend(autogen_context.dialect.name).declared_objects:
        log.warning("Declared views, functions, triggers and policies are compared on PostgreSQL only")
        return PriorityDispatchResult.CONTINUE
    default_schema = autogen_context.dialect.default_schema_name or connection.dialect.default_schema_name
    declared = [_Object(obj, default_schema) for obj in objects]
    _once_each(declared)
    before, after = _plan(autogen_context, upgrade_ops, declared)
    upgrade_ops.ops = [*before, *upgrade_ops.ops, *after]
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(_compare, "autogenerate", priority=DispatchPriority.LAST)
