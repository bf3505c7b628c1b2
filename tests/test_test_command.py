"""The test command's servers (scripts/servers.sh, sourced by scripts/test): one that does not
come up stops the run with its log printed, and leaves no data directory behind."""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVERS = Path(__file__).resolve().parents[1] / "scripts" / "servers.sh"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0
    or not glob.glob("/usr/lib/postgresql/*/bin/initdb")
    or not shutil.which("mariadb-admin"),
    reason="needs root with PostgreSQL and MariaDB installed (as scripts/test makes them)",
)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port someone else is listening on."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def start(server: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = f'set -euo pipefail; source "{SERVERS}"; trap stop_servers EXIT; start_{server}; echo STARTED'
    return subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("server", "port_variable", "name", "in_log"),
    [
        ("postgres", "ASYNCMIGRATE_PG_PORT", "PostgreSQL", "could not bind IPv4 address"),
        ("mariadb", "ASYNCMIGRATE_MY_PORT", "MariaDB", "Address already in use"),
    ],
)
def test_a_server_that_does_not_come_up_stops_the_run_with_its_log(
    taken_port: int, server: str, port_variable: str, name: str, in_log: str
) -> None:
    result = start(server, {port_variable: str(taken_port)})
    assert result.returncode == 1, result.stderr
    assert "STARTED" not in result.stdout
    header = re.search(rf"^error: {name} did not start; its log \((\S+)\):$", result.stderr, re.M)
    assert header, result.stderr
    assert in_log in result.stderr  # the server's own words, not only ours
    assert not Path(header.group(1)).parent.exists()  # the throwaway data directory is gone


def test_a_server_that_comes_up_is_reachable_and_removed_after(tmp_path: Path) -> None:
    result = start("postgres", {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "STARTED"
    started = re.search(r"starting PostgreSQL .* on 127\.0\.0\.1:(\d+)", result.stderr)
    assert started, result.stderr
    with pytest.raises(OSError):  # stopped on exit
        socket.create_connection(("127.0.0.1", int(started.group(1))), timeout=2).close()
