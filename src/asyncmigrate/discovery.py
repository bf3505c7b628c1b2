"""Find the project's models: import the models package recursively, then find its MetaData.

Autogenerate sees only the tables registered on the MetaData when it runs. A model module that
nothing imports is invisible to it, and autogenerate then writes ``op.drop_table``. Importing
the modules under the configured package closes that trap without a hand-kept import list.

Only modules that can define models are imported (:func:`may_define_models`): the configured
packages and their subpackages, and each module that defines a class or calls ``Table()``,
``MetaData()``, ``declarative_base()``, ``registry()`` or ``map_imperatively()`` at its top level.
A script or a seed file that sits in the package (work at import time, no model) is left alone.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import pkgutil
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

from sqlalchemy import MetaData

from .config import Settings
from .errors import ModelDiscoveryError

#: Module names tried, in order, when ``models`` is not configured.
CONVENTIONAL_MODEL_PACKAGES = ("models", "app.models", "src.models", "db.models")


_path_lock = threading.Lock()
#: Directories :func:`import_path` put on ``sys.path``, with the number of blocks using each.
_path_users: dict[str, int] = {}


@contextlib.contextmanager
def import_path(project_dir: Path) -> Iterator[None]:
    """Make the project's modules importable in the block, as Alembic's ``prepend_sys_path = .``
    does, and leave ``sys.path`` as it was: a directory put there is removed when the last block
    using it ends (blocks of migrations awaited side by side overlap). A directory already on
    ``sys.path`` is not touched.

    ``sys.modules`` keeps what was imported meanwhile, as after any ``import``: removing a
    model module would let a later import build its classes a second time, on a declarative
    base or MetaData that outlives the removal (SQLAlchemy then refuses the second table of the
    same name), and the MetaData we return would no longer be the one the app's code sees."""
    added: list[str] = []
    with _path_lock:
        for candidate in (project_dir / "src", project_dir):
            text = str(candidate)
            if not candidate.is_dir():
                continue
            if text in _path_users:
                _path_users[text] += 1
            elif text in sys.path:
                continue
            else:
                sys.path.insert(0, text)
                _path_users[text] = 1
            added.append(text)
    try:
        yield
    finally:
        with _path_lock:
            for text in added:
                _path_users[text] -= 1
                if not _path_users[text]:
                    del _path_users[text]
                    with contextlib.suppress(ValueError):
                        sys.path.remove(text)


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise ModelDiscoveryError(f"model module '{name}' not found") from exc
        raise ModelDiscoveryError(
            f"cannot import model module '{name}': {type(exc).__name__}: {exc}"
        ) from exc
    except Exception as exc:
        raise ModelDiscoveryError(
            f"cannot import model module '{name}': {type(exc).__name__}: {exc}"
        ) from exc


#: Calls that define a table or a place for tables when made at a module's top level.
_MODEL_CALLS = frozenset({"Table", "MetaData", "declarative_base", "registry", "map_imperatively", "mapper"})


def _defines_models(statements: list[ast.stmt]) -> bool:
    for node in statements:
        if isinstance(node, ast.ClassDef):
            return True
        if isinstance(node, ast.If):
            test = node.test
            is_main_guard = (
                isinstance(test, ast.Compare)
                and isinstance(test.left, ast.Name)
                and test.left.id == "__name__"
            )
            if not is_main_guard and (_defines_models(node.body) or _defines_models(node.orelse)):
                return True
        elif isinstance(node, ast.Try):
            if _defines_models(node.body) or any(_defines_models(h.body) for h in node.handlers):
                return True
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)) and node.value is not None:
            for call in ast.walk(node.value):
                if isinstance(call, ast.Call):
                    func = call.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in _MODEL_CALLS:
                        return True
    return False


def may_define_models(source_file: Path) -> bool:
    """Whether importing this module file can register models: it defines a class, or calls
    ``Table()``/``MetaData()``/``declarative_base()``/``registry()``/``map_imperatively()``, at
    its top level. A file that does not parse is imported, so its error is the import's."""
    try:
        tree = ast.parse(source_file.read_bytes(), filename=str(source_file))
    except (OSError, SyntaxError, ValueError):
        return True
    return _defines_models(tree.body)


def _child_modules(name: str, path: Iterable[str]) -> list[str]:
    children = []
    for info in sorted(pkgutil.iter_modules(path), key=lambda info: info.name):
        if not info.ispkg:
            origin = Path(getattr(info.module_finder, "path", "")) / f"{info.name}.py"
            if origin.is_file() and not may_define_models(origin):
                continue
        children.append(f"{name}.{info.name}")
    return children


def import_models(names: Iterable[str]) -> list[ModuleType]:
    """Import each named module and, for a package, its subpackages and every module below it
    that can define models (:func:`may_define_models`)."""
    modules: list[ModuleType] = []
    pending = list(names)
    while pending:
        name = pending.pop(0)
        module = _import(name)
        modules.append(module)
        path = getattr(module, "__path__", None)
        if path is not None:
            pending[:0] = _child_modules(name, path)
    return modules


def _metadata_in(module: ModuleType) -> Iterable[tuple[str, MetaData]]:
    for attr, value in vars(module).items():
        if isinstance(value, MetaData):
            yield f"{module.__name__}:{attr}", value
        elif isinstance(value, type) and value.__module__ == module.__name__:
            candidate = getattr(value, "metadata", None)
            is_base = "registry" in vars(value) or "__abstract__" in vars(value)
            if isinstance(candidate, MetaData) and is_base:
                yield f"{module.__name__}:{attr}.metadata", candidate


def load_metadata_reference(reference: str) -> MetaData | Sequence[MetaData]:
    """Resolve ``pkg.module:Base.metadata`` (or a Base class, or a list of MetaData)."""
    module_name, _, attr_path = reference.partition(":")
    if not attr_path:
        raise ModelDiscoveryError(f"metadata = '{reference}' must look like 'package.module:Base.metadata'")
    target: object = _import(module_name)
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise ModelDiscoveryError(f"'{reference}': no attribute '{part}'") from exc
    if isinstance(target, type) and isinstance(getattr(target, "metadata", None), MetaData):
        target = target.metadata  # type: ignore[attr-defined]
    if isinstance(target, MetaData):
        return target
    if isinstance(target, (list, tuple)) and all(isinstance(m, MetaData) for m in target):
        return tuple(target)
    raise ModelDiscoveryError(f"'{reference}' is not a MetaData (got {type(target).__name__})")


def _conventional_packages(project_dir: Path) -> list[str]:
    found = []
    for name in CONVENTIONAL_MODEL_PACKAGES:
        relative = Path(*name.split("."))
        for root in (project_dir, project_dir / "src"):
            if (root / relative).is_dir() or (root / relative).with_suffix(".py").is_file():
                found.append(name)
                break
    return found


def discover_metadata(settings: Settings) -> MetaData | Sequence[MetaData]:
    """Import the models and return the one MetaData they register their tables on."""
    with import_path(settings.project_dir):
        return _discover_metadata(settings)


def _discover_metadata(settings: Settings) -> MetaData | Sequence[MetaData]:
    model_packages = list(settings.models) or _conventional_packages(settings.project_dir)
    modules = import_models(model_packages)
    if settings.metadata:
        return load_metadata_reference(settings.metadata)
    if not model_packages:
        raise ModelDiscoveryError(
            "no models found: set models = 'yourapp.models' in [tool.asyncmigrate]"
            " of pyproject.toml (the package holding your SQLAlchemy models)"
        )
    found: dict[int, tuple[str, MetaData]] = {}
    for module in modules:
        for where, metadata in _metadata_in(module):
            found.setdefault(id(metadata), (where, metadata))
    if not found:
        raise ModelDiscoveryError(
            f"no models found in {', '.join(model_packages)}: no DeclarativeBase or MetaData"
            " is defined there; set metadata = 'pkg.module:Base.metadata' in [tool.asyncmigrate]"
        )
    if len(found) > 1:
        places = ", ".join(sorted(where for where, _ in found.values()))
        raise ModelDiscoveryError(
            f"found {len(found)} MetaData objects ({places}); name the one to migrate with"
            " metadata = 'pkg.module:Base.metadata' in [tool.asyncmigrate]"
        )
    return next(iter(found.values()))[1]


def table_count(metadata: MetaData | Sequence[MetaData]) -> int:
    if isinstance(metadata, MetaData):
        return len(metadata.tables)
    return sum(len(m.tables) for m in metadata)
