"""A real server process started through synctl, as a new user would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest

from homeserver.config import load_config
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def synctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the repository's synctl script."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "synctl"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"synctl {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


@attrs.frozen
class RunningServer:
    """A server started with synctl."""

    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def shared_secret(self) -> str:
        """The registration shared secret ``synctl init`` wrote."""
        config = load_config(self.data_dir / "homeserver.yaml")
        return str(config.registration.registration_shared_secret)


@contextmanager
def synctl_server(
    data_dir: Path, settings: dict[str, str] | None = None
) -> Iterator[RunningServer]:
    """``synctl init`` + ``synctl start`` on a free port; ``synctl stop`` afterwards.

    ``settings`` are applied with ``synctl config set`` between the two (dotted
    option path to a YAML value).
    """
    port = free_port()
    synctl(
        "init",
        "--data-dir",
        str(data_dir),
        "--server-name",
        "localhost",
        "--http-port",
        str(port),
        "--open-registration",
    )
    for option, value in (settings or {}).items():
        synctl("config", "set", "--data-dir", str(data_dir), option, value)
    synctl("start", "--data-dir", str(data_dir))
    try:
        yield RunningServer(data_dir, port)
    finally:
        synctl("stop", "--data-dir", str(data_dir), check=False)


@pytest.fixture
def running_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server of the test's own, started and stopped with synctl."""
    with synctl_server(tmp_path / "data") as server:
        yield server
