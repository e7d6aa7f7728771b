"""Servers for the WebSocket tests: ``running_server`` (synctl on a free port,
one per module: each test registers users of its own), and one tuned so that
the slow-reader limits trip within seconds (one per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningServer, synctl_server

__all__ = ["running_server", "tight_server"]


@pytest.fixture(scope="module")
def running_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    """One server for the module's tests, started and stopped with synctl.
    Rate limits are off: the module registers more users from loopback than
    the per-address registration limit lets through, and no test here is
    about rate limits."""
    data_dir = tmp_path_factory.mktemp("websocket") / "data"
    with synctl_server(data_dir, {"rate_limiting.enabled": "false"}) as server:
        yield server


@pytest.fixture
def tight_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server with small slow-reader limits and no rate limits."""
    settings = {
        "websocket.max_pending_time": "2s",
        "websocket.max_pending_bytes": "256K",
        "rate_limiting.enabled": "false",
    }
    with synctl_server(tmp_path / "data", settings) as server:
        yield server
