"""``init`` and ``demo``: set a project up, or run the tutorial's whole workflow."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import (
    State,
    cli,
    escape,
    run_async,
    stdout,
)

if TYPE_CHECKING:
    pass


@cli.command()
@click.argument("directory", default="migrations")
@click.option("--models", help="The package or module holding the models (default: guessed).")
@run_async
async def init(state: State, directory: str, models: str | None) -> None:
    """Create the migrations DIRECTORY and the [tool.asyncmigrate] table in pyproject.toml."""
    from ..scaffold import init_project

    project_dir = Path(state.config_file).parent if state.config_file else None
    result = init_project(directory, project_dir=project_dir, models=models)
    stdout.print(f"Created {escape(str(result.script_location))}")
    if result.wrote_table:
        stdout.print(f"Added \\[tool.asyncmigrate] to {escape(str(result.pyproject))}")
    if result.models:
        stdout.print(f"Models: {escape(result.models)}")
    else:
        stdout.print(
            '[yellow]No models package found: set models = "yourapp.models" in \\[tool.asyncmigrate][/yellow]'
        )


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--url", help="Run the steps on this database instead of the embedded SQLite one.")
@run_async
async def demo(state: State, directory: str | None, url: str | None) -> None:
    """Build the tutorial's project in DIRECTORY (default: a new temporary one) and run its
    steps on the embedded SQLite database (or on --url)."""
    from ..demo import run_demo

    await run_demo(directory, url=url or state.url, console=stdout)
