"""The example plugin of docs/plugins.md ("A complete small plugin",
docs/examples/greeter), end to end through the client API."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import bodies
from tests.support.server import TestServer

SRC = Path(__file__).parents[2] / "docs" / "examples" / "greeter" / "src"
GREETER = {
    "plugins": {
        "load": [
            {
                "name": "greeter",
                # Installed, the entry point finds it; here, its module path.
                "module": "chatly_greeter:Greeter",
                "config": {"message": "Hello {name}, welcome!"},
            }
        ]
    }
}


@pytest.fixture
def server(make_server: Callable[..., TestServer]) -> Iterator[TestServer]:
    sys.path.insert(0, str(SRC))
    try:
        yield make_server(GREETER)
    finally:
        sys.path.remove(str(SRC))
        sys.modules.pop("chatly_greeter", None)


def test_greets_new_members_once_and_counts_them(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    room = alice.create_room(preset="public_chat")
    alice.invite(room, "@greeter:test")  # the bot joins at once
    bob.join(room)
    bob.leave(room)
    bob.join(room)
    events = bob.timeline(room)
    assert bodies(events).count("Hello @bob:test, welcome!") == 1

    path = f"/_chatly/plugins/greeter/rooms/{room}/count"
    assert bob.request("GET", path, expect=200).json == {"room_id": room, "count": 1}
    assert server.request("GET", path).code == 401
    carol = server.user("carol")
    assert carol.request("GET", path).json["errcode"] == "M_FORBIDDEN"
