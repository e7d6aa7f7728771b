"""Fixtures for presence tests."""

from __future__ import annotations

import pytest

from tests.support.server import TestServer

Users = dict[str, tuple[str, str]]


@pytest.fixture
def users(server: TestServer) -> Users:
    """alice, bob and eve, registered once the fake clock is off zero (a
    last_active_ts of 0 means "never", as in Synapse)."""
    server.advance(1000)
    return {name: server.register(name) for name in ("alice", "bob", "eve")}
