"""What the room builder reads: the same for a room's news whatever the
connection's age, and no room state when nothing in it can have changed
(counted in database transactions, not timed)."""

from __future__ import annotations

from tests.sliding_sync.core.test_cost import _spent, _transactions
from tests.sliding_sync.core.test_sliding_sync import ALL, room_list, ss
from tests.sliding_sync.rooms.test_fields import sub
from tests.support.server import TestServer

CONFIG = [["m.room.name", ""], ["m.room.member", "$LAZY"]]


def test_news_costs_the_same_on_an_old_connection(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(name="R", preset="public_chat")
    bob.join(room_id)
    request = sub(room_id, CONFIG, 5)
    pos = ss(alice, request)["pos"]

    def one_message() -> dict[str, float]:
        nonlocal pos
        bob.send(room_id, "news")
        before = _transactions()
        body = ss(alice, {**request, "pos": pos})
        spent = _spent(before)
        assert body["rooms"][room_id]["timeline"][-1]["content"]["body"] == "news"
        pos = body["pos"]
        return spent

    young = one_message()
    for _ in range(30):
        one_message()
    old = one_message()
    print(f"young connection: {young}; old connection: {old}")
    assert sum(old.values()) <= sum(young.values())
    # a message (no gap, no state event) reads no room state
    assert "ss_events_at" not in old and "get_state_ids_for_events" not in old
    assert "ss_member_overview" not in old


def test_first_response_reads_windows_counts_and_state_once(server: TestServer) -> None:
    alice = server.user("alice")
    room_list(server, alice, [f"room {i}" for i in range(12)])
    body = {"lists": {"all": {**ALL, "range": [0, 9]}}}
    before = _transactions()
    first = ss(alice, body)
    spent = _spent(before)
    assert len(first["rooms"]) == 10
    print(f"first response for 10 rooms: {spent}")
    # timelines, the stays' starts and unread counts (receipts, stays and
    # push actions) for all ten rooms in one transaction each
    assert spent["sync_windows"] == 1
    assert spent["sync_unread_counts"] == 1
    assert spent["sync_join_positions"] == 1
    # and, for the rooms sent whole, their state and member overviews
    assert spent["ss_events_at"] == 1
    assert spent["get_state_ids_for_events"] == 1
    assert spent["ss_member_overview"] == 1
