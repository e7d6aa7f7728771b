"""The stream registry and the /sync token built from it."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.testing import MemoryReactorClock

from homeserver.errors import MatrixError
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import (
    EVENTS,
    STREAMS,
    SYNC_STREAM_NAMES,
    TO_DEVICE,
    TYPING,
    Column,
    StreamDecl,
    StreamRegistry,
)
from homeserver.streams.tokens import StreamToken
from homeserver.util.clock import Clock
from tests.support.server import TestServer


def test_each_stream_is_declared_once_with_events_first() -> None:
    names = [s.name for s in STREAMS]
    assert len(names) == len(set(names))
    assert SYNC_STREAM_NAMES[0] == EVENTS.name
    assert SYNC_STREAM_NAMES == (
        "events",
        "account_data",
        "receipts",
        "typing",
        "presence",
        "to_device",
        "device_lists",
    )


def test_a_stream_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError):
        StreamRegistry([EVENTS, StreamDecl(name="events")])


def test_sync_positions_follow_the_generators() -> None:
    registry = StreamRegistry()
    with registry.ids(TO_DEVICE).allocate():
        pass
    registry.ids(TYPING).allocate_raw()
    registry.ids(TYPING).allocate_raw()
    positions = registry.sync_positions()
    assert positions["to_device"] == 1
    assert positions["typing"] == 2
    assert set(positions) == set(SYNC_STREAM_NAMES)
    assert StreamToken(registry.sync_position_tuple()) == StreamToken.of(**positions)


def test_the_notifier_token_follows_the_generators() -> None:
    registry = StreamRegistry([EVENTS, TYPING])
    notifier = Notifier(Clock(MemoryReactorClock()), registry)
    first = notifier.current_token()
    assert first == StreamToken()
    # Nothing moved: the same token (every woken sync asks for it).
    assert notifier.current_token() is first
    registry.ids(TYPING).allocate_raw()
    assert notifier.current_token() == StreamToken.of(typing=1)
    with pytest.raises(ValueError):
        StreamRegistry([StreamDecl(name="odd", synced=True)]).sync_position_tuple()


def test_token_wire_form_and_older_tokens() -> None:
    token = StreamToken.of(events=5, typing=2, device_lists=9)
    assert token.to_string() == "s5_0_0_2_0_0_9"
    assert StreamToken.parse(token.to_string()) == token
    assert StreamToken.parse("s5_1") == StreamToken.of(events=5, account_data=1)
    assert token.get("typing") == 2
    assert token.events == 5
    assert token.copy_with("typing", 3).get("typing") == 3
    assert token.clamped_to(StreamToken.of(events=4, typing=9)) == StreamToken.of(
        events=4, typing=2
    )
    with pytest.raises(MatrixError):
        StreamToken.parse("s1_2_3_4_5_6_7_8")
    # The last token parsed is remembered (the syncs one event wakes all go
    # on from the same next_batch); a bad one is refused every time.
    assert StreamToken.parse("s7_1") is StreamToken.parse("s7_1")
    assert StreamToken.parse("s8") == StreamToken.of(events=8)
    for _ in range(2):
        with pytest.raises(MatrixError):
            StreamToken.parse("s7_1x")
    # Nothing ahead: the token itself.
    assert token.clamped_to(token) is token
    assert not token.is_after(token)
    assert token.copy_with("typing", 3).is_after(token)
    with pytest.raises(ValueError):
        StreamToken.of(nonsense=1)


def test_loaded_positions_continue_after_the_stored_ones(
    server: TestServer, make_server: Any
) -> None:
    """A stream declared with a table continues after it at start-up (here:
    the events stream after a restart on the same database)."""
    user, token = server.register("alice")
    resp = server.request("POST", "/_matrix/client/v3/createRoom", {}, token=token)
    assert resp.code == 200
    before = server.hs.core.streams.ids(EVENTS).current_position()
    assert before > 0
    fresh = StreamRegistry()
    server.get_success(fresh.load(server.db))
    assert fresh.ids(EVENTS).current_position() == before
    assert Column("events", "stream_ordering") in EVENTS.loads_from
