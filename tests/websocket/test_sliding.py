"""Simplified sliding sync over the WebSocket transport against a real
server process, with autobahn's asyncio client (docs/websocket.md,
"Sliding sync over the socket")."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import RunningServer
from tests.websocket.httpapi import register
from tests.websocket.isolated import run_isolated

pytestmark = pytest.mark.integration


def test_sliding_sync_over_a_real_socket(running_server: RunningServer) -> None:
    url = running_server.url
    alice, bob = register(url, "alice"), register(url, "bob")
    out = run_isolated("sliding_stream", url, alice, bob, module="sliding_scenarios")
    room_id = out["room_id"]
    assert out["first_rooms"] == [room_id] and out["first_initial"] is True
    # pushed as it happened, as an incremental entry
    assert out["pushed"] == ["over the socket"]
    assert out["pushed_initial"] is None
    assert out["elapsed"] < 2, "the stream should push as soon as the message lands"
    assert out["to_device"] == [1]
    # over HTTP from the last pos the socket delivered: only what came since,
    # and the to-device message the stream acknowledged is not sent again
    assert out["resumed_rooms"] == [room_id]
    assert out["resumed"] == ["while away"]
    assert out["resumed_to_device"] == []
