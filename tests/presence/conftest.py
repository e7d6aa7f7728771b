"""Fixtures for presence tests."""

from __future__ import annotations

import pytest

from tests.support import TestServer, User

Users = dict[str, User]


@pytest.fixture
def users(server: TestServer) -> Users:
    """alice, bob and eve, registered once the fake clock is off zero (a
    last_active_ts of 0 means "never", as in Synapse)."""
    server.advance(1000)
    return {name: server.user(name) for name in ("alice", "bob", "eve")}
