"""Model discovery imports what can define models, and leaves scripts in the package alone."""

from __future__ import annotations

from pathlib import Path

from asyncmigrate import Migrator
from asyncmigrate.discovery import may_define_models
from asyncmigrate.scaffold import init_project

from .conftest import run_cli

SEED_SCRIPT = """\
from pathlib import Path
Path(__file__).with_name("SEED_RAN").write_text("the seed script ran")
"""

TABLE_MODULE = """\
import sqlalchemy as sa
from .base import Base

audit = sa.Table("audit", Base.metadata, sa.Column("id", sa.Integer, primary_key=True))
"""


def test_scripts_in_the_models_package_are_not_run(seed_project: Path, sqlite_url: str) -> None:
    models = seed_project / "src" / "models"
    (models / "seed.py").write_text(SEED_SCRIPT)
    (models / "audit.py").write_text(TABLE_MODULE)
    init_project(project_dir=seed_project)
    result = run_cli("--url", sqlite_url, "check", cwd=seed_project)
    assert result.returncode == 1, result.output  # the models differ from the empty database
    assert "users" in result.stdout and "audit" in result.stdout  # Table() module and class module seen
    assert not (models / "SEED_RAN").exists()


async def test_a_class_module_nobody_imports_is_still_seen(seed_project: Path, sqlite_url: str) -> None:
    models = seed_project / "src" / "models"
    (models / "tags.py").write_text(
        "from sqlalchemy.orm import Mapped, mapped_column\nfrom .base import Base\n\n\n"
        "class Tag(Base):\n    __tablename__ = 'tags'\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
    )
    init_project(project_dir=seed_project)
    [path] = await Migrator.from_pyproject(seed_project, url=sqlite_url).revision(
        "initial", autogenerate=True
    )
    assert "op.create_table('tags'" in path.read_text()


def test_may_define_models(tmp_path: Path) -> None:
    cases = {
        "class User(Base):\n    pass\n": True,
        "import sqlalchemy as sa\nt = sa.Table('t', md)\n": True,
        "from sqlalchemy import MetaData\nmetadata = MetaData()\n": True,
        "try:\n    class A: pass\nexcept ImportError:\n    pass\n": True,
        "if TYPE_CHECKING:\n    pass\nelse:\n    Base = declarative_base()\n": True,
        SEED_SCRIPT: False,
        "def helper():\n    class Inner: pass\n": False,
        "if __name__ == '__main__':\n    class Cli: pass\n": False,
        "this is not python(": True,  # imported, so the user sees the real error
    }
    for number, (source, expected) in enumerate(cases.items()):
        module = tmp_path / f"m{number}.py"
        module.write_text(source)
        assert may_define_models(module) is expected, source
