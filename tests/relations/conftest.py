"""Fixtures of the relations tests."""

from __future__ import annotations

import pytest

from tests.support import Room
from tests.support.server import TestServer


@pytest.fixture
def room(server: TestServer) -> Room:
    """A public room of alice's that bob joined, with one message: the root."""
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    root = alice.send(room_id, "root")
    return Room(room_id, alice, bob, events=[root])
