"""The package as a user installs it: an sdist and a wheel built from this checkout, installed in
a fresh virtualenv, run the README's demo outside the checkout (templates and package data come
from the wheel, not from ``src``)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sdist`` first, then the wheel built from the unpacked sdist (what ``python -m build`` does),
    so a file missing from the sdist shows up as a broken wheel."""
    out = tmp_path_factory.mktemp("dist")
    sdist = _run(sys.executable, "-m", "build", "--sdist", "--outdir", out, ROOT, cwd=out)
    assert sdist.returncode == 0, sdist.stdout + sdist.stderr
    (archive,) = out.glob("asyncmigrate-*.tar.gz")
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(out / "unpacked", filter="data")
        else:  # a Python without extraction filters; the archive is our own
            tar.extractall(out / "unpacked")
    (unpacked,) = (out / "unpacked").iterdir()
    wheel = _run(sys.executable, "-m", "build", "--wheel", "--outdir", out, unpacked, cwd=out)
    assert wheel.returncode == 0, wheel.stdout + wheel.stderr
    return out


def test_sdist_and_wheel_carry_the_templates(dist: Path) -> None:
    (wheel,) = dist.glob("asyncmigrate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in ("env.py.txt", "script.py.mako", "README.txt"):
        assert f"asyncmigrate/templates/{template}" in names
    assert "asyncmigrate/lint/rules/__init__.py" in names
    (sdist,) = dist.glob("asyncmigrate-*.tar.gz")
    members = {name.split("/", 1)[1] for name in tarfile.open(sdist).getnames() if "/" in name}
    assert {"README.md", "pyproject.toml", "src/asyncmigrate/templates/env.py.txt"} <= members


def test_demo_runs_from_the_installed_wheel(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("asyncmigrate-*.whl")
    venv = tmp_path / "venv"
    created = _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    install = _run(
        python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheel}[sqlite]", cwd=tmp_path
    )
    assert install.returncode == 0, install.stdout + install.stderr
    where = _run(python, "-c", "import asyncmigrate; print(asyncmigrate.__file__)", cwd=tmp_path)
    assert str(venv) in where.stdout, where.stdout + where.stderr  # the wheel, not this checkout
    demo = _run(venv / "bin" / "asyncmigrate", "demo", tmp_path / "demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Demo complete." in demo.stdout
    assert (tmp_path / "demo" / "migrations" / "env.py").is_file()
