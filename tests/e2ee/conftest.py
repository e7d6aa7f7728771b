"""Fixtures of the E2EE tests: alice and bob, each logged in on one device of
the ``server`` fixture (password ``password123``)."""

from __future__ import annotations

import pytest

from tests.support import User
from tests.support.server import TestServer


@pytest.fixture
def alice(server: TestServer) -> User:
    return server.user("alice")


@pytest.fixture
def bob(server: TestServer) -> User:
    return server.user("bob")
