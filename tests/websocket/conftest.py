"""Servers for the WebSocket tests: the e2e ``running_server`` (synctl on a free
port), and one tuned so that the slow-reader limits trip within seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningServer, running_server, synctl
from tests.ports import free_port

__all__ = ["running_server", "tight_server"]


@pytest.fixture
def tight_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server with small slow-reader limits and no rate limits."""
    data_dir = tmp_path / "data"
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
    for key, value in (
        ("websocket.max_pending_time", "2s"),
        ("websocket.max_pending_bytes", "256K"),
        ("rate_limiting.enabled", "false"),
    ):
        synctl("config", "set", "--data-dir", str(data_dir), key, value)
    synctl("start", "--data-dir", str(data_dir))
    try:
        yield RunningServer(data_dir, port)
    finally:
        synctl("stop", "--data-dir", str(data_dir), check=False)
